-- Chop in Neovim 0.11: chop-lsp through vim.lsp.config/vim.lsp.enable, the chunk
-- graph of the function under the cursor (the chop/chunkGraph extension), and the
-- tree-sitter parser built from the grammar in this repository.
local M = {}

--- Configures and enables chop-lsp. `opts` is merged over lsp/chop.lua (a
--- vim.lsp.Config: cmd, init_options, settings, ...).
---@param opts vim.lsp.Config?
function M.setup(opts)
  if opts and next(opts) ~= nil then
    vim.lsp.config('chop', opts)
  end
  vim.lsp.enable('chop')
end

--- The repository this plugin lives in (editors/nvim/lua/chop/init.lua).
function M.repo_root()
  local here = debug.getinfo(1, 'S').source:sub(2)
  return vim.fs.normalize(vim.fn.fnamemodify(here, ':p:h:h:h:h:h'))
end

local function notify(msg, level)
  vim.notify('chop: ' .. msg, level or vim.log.levels.INFO)
end

---@return vim.lsp.Client?
local function client_of(bufnr)
  return vim.lsp.get_clients({ bufnr = bufnr, name = 'chop' })[1]
end

--- Shows the basic-block chunk graph of the function under the cursor (or of
--- `opts.fn`): as DOT in a new scratch buffer, or (`opts.format == 'svg'`) as an
--- SVG file opened with vim.ui.open.
---@param opts { format: 'dot'|'svg'|nil, fn: string?, open: boolean?, on_done: fun(result: table?, err: string?)? }?
function M.chunk_graph(opts)
  opts = opts or {}
  local format = opts.format or 'dot'
  local done = opts.on_done or function() end
  local bufnr = vim.api.nvim_get_current_buf()
  local client = client_of(bufnr)
  if not client then
    notify('chop-lsp is not attached to this buffer', vim.log.levels.ERROR)
    return done(nil, 'no client')
  end
  local params = vim.lsp.util.make_position_params(0, client.offset_encoding)
  if opts.fn and opts.fn ~= '' then
    params.position = nil
    params['function'] = opts.fn
  end
  client:request('chop/chunkGraph', params, function(err, result)
    if err or not result then
      local msg = err and err.message or 'no function here'
      notify('chunk graph: ' .. msg, vim.log.levels.ERROR)
      return done(nil, msg)
    end
    if format == 'svg' then
      local path = vim.fn.tempname() .. '.svg'
      vim.fn.writefile(vim.split(result.svg, '\n', { plain = true }), path)
      result.svg_path = path
      notify('chunk graph written to ' .. path)
      if opts.open ~= false then
        local _, open_err = vim.ui.open(path)
        if open_err then
          notify(open_err, vim.log.levels.WARN)
        end
      end
    else
      local name = result['function'] or opts.fn or 'function'
      vim.cmd('new')
      local buf = vim.api.nvim_get_current_buf()
      vim.bo[buf].buftype = 'nofile'
      vim.bo[buf].bufhidden = 'wipe'
      vim.bo[buf].swapfile = false
      pcall(vim.api.nvim_buf_set_name, buf, 'chop://chunk-graph/' .. name .. '.dot')
      vim.api.nvim_buf_set_lines(buf, 0, -1, false, vim.split(result.dot, '\n', { plain = true }))
      vim.bo[buf].modifiable = false
      vim.bo[buf].filetype = 'dot'
      result.bufnr = buf
    end
    done(result, nil)
  end, bufnr)
end

--- Compiles the Chop tree-sitter parser (vm/grammar/src/parser.c of this
--- repository, or `opts.src`) with the C compiler ($CC or cc) into
--- `opts.dest`/parser/chop.so (default: stdpath('data')/site, which is on the
--- runtimepath) and registers it. Returns the path of the parser, or nil and the
--- error.
---@param opts { src: string?, dest: string? }?
---@return string?, string?
function M.build_parser(opts)
  opts = opts or {}
  local src = opts.src or (M.repo_root() .. '/vm/grammar/src')
  if vim.fn.filereadable(src .. '/parser.c') == 0 then
    return nil, 'no parser.c in ' .. src
  end
  local dir = (opts.dest or (vim.fn.stdpath('data') .. '/site')) .. '/parser'
  vim.fn.mkdir(dir, 'p')
  local out = dir .. '/chop.so'
  local cmd = { vim.env.CC or 'cc', '-O2', '-shared', '-fPIC', '-I', src, src .. '/parser.c', '-o', out }
  local ok, run = pcall(vim.system, cmd, { text = true })
  if not ok then
    return nil, 'cannot run ' .. cmd[1] .. ': ' .. tostring(run)
  end
  local res = run:wait()
  if res.code ~= 0 then
    return nil, table.concat(cmd, ' ') .. ' failed: ' .. (res.stderr or '')
  end
  local added, err = pcall(vim.treesitter.language.add, 'chop', { path = out })
  if not added then
    return nil, 'the built parser does not load: ' .. tostring(err)
  end
  return out, nil
end

return M
