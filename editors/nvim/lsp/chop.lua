-- The default configuration of chop-lsp, found by vim.lsp.config('chop') on the
-- 'runtimepath'. Override any field with vim.lsp.config('chop', { ... }) or
-- require('chop').setup({ ... }); for example cmd = { '/path/to/chop-lsp' }.
---@type vim.lsp.Config
return {
  cmd = { 'chop-lsp' },
  filetypes = { 'chop' },
  root_markers = { '.git' },
}
