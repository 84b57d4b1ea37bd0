-- Buffer settings for Chop files.
if vim.b.did_ftplugin then
  return
end
vim.b.did_ftplugin = true

vim.bo.commentstring = '// %s'
vim.bo.comments = ':///,://!,://'
vim.bo.expandtab = true
vim.bo.shiftwidth = 4
vim.bo.softtabstop = 4

-- Tree-sitter highlighting when the Chop parser is installed (:ChopBuildParser).
if vim.g.chop_treesitter ~= false then
  pcall(vim.treesitter.start, 0, 'chop')
end

vim.b.undo_ftplugin = (vim.b.undo_ftplugin or '')
  .. '\n setlocal commentstring< comments< expandtab< shiftwidth< softtabstop<'
