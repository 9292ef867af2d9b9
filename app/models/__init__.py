"""Models on disk and in the catalog: finding, checking, fitting and downloading them."""
