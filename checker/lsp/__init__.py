"""`plugcheck lsp`: a language server for spec files (diagnostics, hover, definitions,
references, completion, outline, check lenses). `diagnose` and `index` need no LSP library;
`server` is the pygls glue."""
