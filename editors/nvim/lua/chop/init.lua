-- Chop in Neovim 0.11: chop-lsp through vim.lsp.config/vim.lsp.enable, the chunk
-- graph of the function under the cursor (the chop/chunkGraph extension), the
-- preview of a filter (chop/preview), the tree-sitter parser built from the grammar
-- in this repository, and the tools beside the server: chop-dap (through nvim-dap,
-- lua/chop/dap.lua) and `chunkvm nodes` (lua/chop/nodes.lua).
local M = {}

--- The options of the plugin itself (the rest of setup()'s table configures
--- chop-lsp):
--- - `dap_path`: chop-dap (default: beside chop-lsp, else on PATH);
--- - `chunkvm_path`: the chunkvm command line (default: beside chop-lsp, else on PATH);
--- - `nodes`: chunkvm nodes by name, `{ name = { address = 'quic://HOST:PORT',
---   token_file = PATH?, fingerprint = FP? } }`, for :ChopMigrate and :ChopNodes.
---@class chop.Options
---@field dap_path string?
---@field chunkvm_path string?
---@field nodes table<string, { address: string, token_file: string?, fingerprint: string? }>?
M.options = { nodes = {} }

--- The keys of setup()'s table that are the plugin's, not chop-lsp's.
local PLUGIN_KEYS = { dap_path = true, chunkvm_path = true, nodes = true }

--- Configures and enables chop-lsp, and registers the debug adapter when nvim-dap
--- is installed. `opts` holds the plugin's options (chop.Options: dap_path,
--- chunkvm_path, nodes); the rest is merged over lsp/chop.lua (a vim.lsp.Config:
--- cmd, init_options, settings, ...).
---@param opts (chop.Options|vim.lsp.Config)?
function M.setup(opts)
  opts = opts or {}
  local lsp = {}
  local own = { nodes = {} }
  for key, value in pairs(opts) do
    if PLUGIN_KEYS[key] then
      own[key] = value
    else
      lsp[key] = value
    end
  end
  M.options = own
  if next(lsp) ~= nil then
    vim.lsp.config('chop', lsp)
  end
  vim.lsp.enable('chop')
  require('chop.dap').setup()
end

--- The chop-lsp executable of the configuration (vim.lsp.config.chop's cmd), as a
--- full path, or nil when cmd is a function or names no executable.
---@return string?
function M.lsp_path()
  local ok, config = pcall(function()
    return vim.lsp.config.chop
  end)
  local cmd = ok and config and config.cmd
  if type(cmd) ~= 'table' or type(cmd[1]) ~= 'string' then
    return nil
  end
  local path = vim.fn.exepath(vim.fn.expand(cmd[1]))
  if path == '' then
    return nil
  end
  return vim.fs.normalize(path)
end

--- Finds the executable `name` (chop-dap, chunkvm): `explicit` when given (an error
--- when it is not executable), else beside the configured chop-lsp, else on PATH.
--- Returns its path, or nil and where it was looked for.
---@param name string
---@param explicit string?
---@param option string the option that sets it (for messages)
---@return string?, string?
function M.find_tool(name, explicit, option)
  if explicit and explicit ~= '' then
    local path = vim.fn.exepath(vim.fn.expand(explicit))
    if path ~= '' then
      return vim.fs.normalize(path), nil
    end
    return nil, ('%s (opts.%s) is not an executable'):format(explicit, option)
  end
  local lsp = M.lsp_path()
  if lsp then
    local dir = vim.fs.dirname(lsp)
    for _, file in ipairs({ name, name .. '.exe' }) do
      local beside = dir .. '/' .. file
      if vim.fn.executable(beside) == 1 then
        return beside, nil
      end
    end
  end
  local path = vim.fn.exepath(name)
  if path ~= '' then
    return vim.fs.normalize(path), nil
  end
  return nil, ('%s not found: set opts.%s, or put it beside chop-lsp (%s) or on PATH'):format(
    name, option, lsp or 'not found either')
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

--- Shows `lines` in the scratch buffer named `name` (`chop://...`): the one already
--- shown when there is one, else a new one in a split. Returns its number.
---@param name string
---@param lines string[]
---@param filetype string?
---@return integer
function M.scratch(name, lines, filetype)
  local buf
  for _, b in ipairs(vim.api.nvim_list_bufs()) do
    if vim.api.nvim_buf_is_loaded(b) and vim.api.nvim_buf_get_name(b) == name then
      buf = b
    end
  end
  if buf then
    local win = vim.fn.bufwinid(buf)
    if win ~= -1 then
      vim.api.nvim_set_current_win(win)
    else
      vim.cmd('split')
      vim.api.nvim_win_set_buf(0, buf)
    end
  else
    vim.cmd('new')
    buf = vim.api.nvim_get_current_buf()
    vim.bo[buf].buftype = 'nofile'
    vim.bo[buf].bufhidden = 'wipe'
    vim.bo[buf].swapfile = false
    pcall(vim.api.nvim_buf_set_name, buf, name)
  end
  vim.bo[buf].modifiable = true
  vim.api.nvim_buf_set_lines(buf, 0, -1, false, lines)
  vim.bo[buf].modifiable = false
  vim.bo[buf].modified = false
  if filetype then
    vim.bo[buf].filetype = filetype
  end
  return buf
end

--- The filters and pipelines of a Chop buffer, in their order: `{ kind = 'filter'
--- |'pipeline', name = ... }` each (read from the text: an item starts a line).
---@param bufnr integer?
---@return { kind: string, name: string }[]
function M.targets(bufnr)
  local found = {}
  for _, line in ipairs(vim.api.nvim_buf_get_lines(bufnr or 0, 0, -1, false)) do
    local kind, name = line:match('^%s*(filter)%s+([%a_][%w_]*)')
    if not kind then
      kind, name = line:match('^%s*(pipeline)%s+([%a_][%w_]*)')
    end
    if kind then
      table.insert(found, { kind = kind, name = name })
    end
  end
  return found
end

--- Previews a filter or pipeline of the current buffer (`opts.target`, a name;
--- default: the server's choice, the file's first) on the configured photo with
--- chop-lsp's `chop/preview`: writes the PNG to a temporary file and opens it with
--- vim.ui.open (unless `opts.open == false`), or says its path when there is no
--- viewer. `opts.on_done(result, err)` gets the response with `path` added.
---@param opts { target: string?, params: table?, level: integer?, open: boolean?, on_done: fun(result: table?, err: string?)? }?
function M.preview(opts)
  opts = opts or {}
  local done = opts.on_done or function() end
  local bufnr = vim.api.nvim_get_current_buf()
  local client = client_of(bufnr)
  if not client then
    notify('chop-lsp is not attached to this buffer', vim.log.levels.ERROR)
    return done(nil, 'no client')
  end
  local params = { textDocument = { uri = vim.uri_from_bufnr(bufnr) }, params = opts.params, level = opts.level }
  if opts.target and opts.target ~= '' then
    local kind = 'filter'
    for _, target in ipairs(M.targets(bufnr)) do
      if target.name == opts.target then
        kind = target.kind
      end
    end
    params[kind] = opts.target
  end
  client:request('chop/preview', params, function(err, result)
    if err or not result then
      local msg = err and err.message or 'no result'
      notify('preview: ' .. msg, vim.log.levels.ERROR)
      return done(nil, msg)
    end
    local png = result.png or {}
    local path
    if type(png.base64) == 'string' then
      path = vim.fn.tempname() .. '.png'
      local file, open_err = io.open(path, 'wb')
      if not file then
        notify('preview: cannot write ' .. path .. ': ' .. tostring(open_err), vim.log.levels.ERROR)
        return done(nil, open_err)
      end
      file:write(vim.base64.decode(png.base64))
      file:close()
    elseif type(png.path) == 'string' then
      path = png.path
    else
      notify('preview: the server sent no PNG', vim.log.levels.ERROR)
      return done(nil, 'no PNG')
    end
    result.path = path
    local about = ('%sx%s, level %s, %s ms'):format(tostring(result.width), tostring(result.height),
      tostring(result.level), tostring(result.millis))
    if opts.open == false then
      notify('preview written to ' .. path .. ' (' .. about .. ')')
    else
      local ok, opened, open_err = pcall(vim.ui.open, path)
      if ok and opened and not open_err then
        notify('preview opened: ' .. path .. ' (' .. about .. ')')
      else
        local why = not ok and tostring(opened) or tostring(open_err or 'no viewer')
        notify('preview written to ' .. path .. ' (' .. about .. '); not opened: ' .. why)
      end
    end
    done(result, nil)
  end, bufnr)
end

return M
