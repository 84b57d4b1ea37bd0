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

-- :ChopPreview [filter|pipeline]: the preview PNG of a filter of this file
-- (chop-lsp's chop/preview), written to a temporary file and opened with the
-- system viewer (vim.ui.open), or its path said when there is none.
vim.api.nvim_create_user_command('ChopPreview', function(cmd)
  require('chop').preview({ target = cmd.fargs[1] })
end, {
  nargs = '?',
  complete = function()
    return vim.tbl_map(function(target)
      return target.name
    end, require('chop').targets(0))
  end,
  desc = 'Chop: preview a filter of this file and open the PNG',
})

-- :ChopMigrate {node}: moves the thread of the current debug session (nvim-dap with
-- chop-dap) to a chunkvm node: quic://HOST:PORT, local, or a name of opts.nodes.
vim.api.nvim_create_user_command('ChopMigrate', function(cmd)
  require('chop.dap').migrate(cmd.args)
end, {
  nargs = 1,
  complete = function(lead)
    return vim.tbl_filter(function(name)
      return vim.startswith(name, lead)
    end, require('chop.dap').node_names())
  end,
  desc = 'Chop: migrate the debugged thread to a node (or local)',
})

-- :ChopAttach {node} {thread}: debugs a thread a chunkvm node runs already (nvim-dap
-- with chop-dap's `attach`); `chunkvm threads --on NODE` lists the ids.
vim.api.nvim_create_user_command('ChopAttach', function(cmd)
  require('chop.dap').attach(cmd.fargs[1], tonumber(cmd.fargs[2]))
end, {
  nargs = '+',
  complete = function(lead)
    return vim.tbl_filter(function(name)
      return name ~= 'local' and vim.startswith(name, lead)
    end, require('chop.dap').node_names())
  end,
  desc = 'Chop: attach the debugger to a thread a chunkvm node runs',
})

-- :ChopChunks: the chunks of the stopped thread of the current debug session, by
-- where they reside, in a scratch buffer.
vim.api.nvim_create_user_command('ChopChunks', function()
  require('chop.dap').chunks()
end, { desc = "Chop: list the stopped thread's chunks and where they live" })

-- :ChopNodes [node...]: the status of the configured nodes (or those named) from
-- `chunkvm nodes`, in a scratch buffer.
vim.api.nvim_create_user_command('ChopNodes', function(cmd)
  require('chop.nodes').show(cmd.fargs)
end, {
  nargs = '*',
  complete = function(lead)
    local names = vim.tbl_keys(require('chop').options.nodes or {})
    table.sort(names)
    return vim.tbl_filter(function(name)
      return vim.startswith(name, lead)
    end, names)
  end,
  desc = 'Chop: show the status of chunkvm nodes',
})
