-- Chop: chop-lsp for *.chop buffers, and the commands of the plugin.
if vim.g.loaded_chop then
  return
end
vim.g.loaded_chop = true

-- The server starts on the first Chop buffer (config: lsp/chop.lua, overridden by
-- vim.lsp.config('chop', {...}) or require('chop').setup({...})). Set
-- vim.g.chop_lsp = false before this file runs to leave it off.
if vim.g.chop_lsp ~= false then
  vim.lsp.enable('chop')
end

-- :ChopChunkGraph [dot|svg] [function]: the basic-block chunk graph of the function
-- under the cursor (or the one named), as DOT in a split or as an SVG file.
vim.api.nvim_create_user_command('ChopChunkGraph', function(cmd)
  local format, fn = 'dot', nil
  for _, arg in ipairs(cmd.fargs) do
    if arg == 'dot' or arg == 'svg' then
      format = arg
    else
      fn = arg
    end
  end
  require('chop').chunk_graph({ format = format, fn = fn })
end, {
  nargs = '*',
  complete = function()
    return { 'dot', 'svg' }
  end,
  desc = 'Chop: show the chunk graph of the function under the cursor',
})

-- :ChopBuildParser: compile the tree-sitter parser of this repository's grammar
-- (needs a C compiler) into stdpath('data')/site/parser/chop.so.
vim.api.nvim_create_user_command('ChopBuildParser', function()
  local path, err = require('chop').build_parser()
  if path then
    vim.notify('chop: parser built: ' .. path)
    for _, buf in ipairs(vim.api.nvim_list_bufs()) do
      if vim.bo[buf].filetype == 'chop' then
        pcall(vim.treesitter.start, buf, 'chop')
      end
    end
  else
    vim.notify('chop: ' .. err, vim.log.levels.ERROR)
  end
end, { desc = 'Chop: build the tree-sitter parser' })
