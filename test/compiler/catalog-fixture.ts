// Test helper: the bundled catalog, so compiler tests do not depend on the running kernel.

import { type CatalogIndex, loadBundledCatalog } from "../../src/compiler/catalog/index.ts";

export const catalog: CatalogIndex = loadBundledCatalog();
