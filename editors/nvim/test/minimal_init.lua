-- A minimal Neovim 0.11 configuration with the Chop plugin of this repository and
-- the chop-lsp built by cargo ($CHOP_LSP, else target/debug/chop-lsp). Used by the
-- end-to-end tests (scripts/e2e.sh); also to try the plugin:
--   nvim -u editors/nvim/test/minimal_init.lua samples/tour.chop
local root = vim.fs.normalize(vim.fn.fnamemodify(debug.getinfo(1, 'S').source:sub(2), ':p:h:h:h:h'))
vim.g.chop_repo = root

vim.opt.runtimepath:prepend(root .. '/editors/nvim')
vim.opt.swapfile = false
vim.opt.shadafile = 'NONE'

vim.lsp.config('chop', {
  cmd = { vim.env.CHOP_LSP or (root .. '/target/debug/chop-lsp') },
})
