-- Chop debugging through nvim-dap (never vendored: used when installed): the adapter
-- `chop` (chop-dap), launch configurations for the current file, and the adapter's
-- custom requests: `migrate` (move the thread to a chunkvm node and home) and
-- `chunks` (the stopped thread's chunks and where they reside). See docs/dap.md.
local M = {}

--- The thread of a chop-dap session (there is one).
M.THREAD = 1

--- The names of the configurations setup() adds to dap.configurations.chop.
M.LAUNCH_MAIN = 'Chop: debug main of this file'
M.LAUNCH_FILTER = 'Chop: debug a filter of this file on a photo'

local function notify(msg, level)
  vim.notify('chop: ' .. msg, level or vim.log.levels.INFO)
end

--- nvim-dap, or nil when it is not installed.
---@return table?
function M.dap()
  local ok, dap = pcall(require, 'dap')
  if ok and type(dap) == 'table' then
    return dap
  end
  return nil
end

--- Waits, in a coroutine, for `start(resume)` to call `resume(...)`; returns what
--- it was called with.
local function await(start)
  local co = coroutine.running()
  start(function(...)
    local args = { n = select('#', ...), ... }
    vim.schedule(function()
      coroutine.resume(co, unpack(args, 1, args.n))
    end)
  end)
  return coroutine.yield()
end

--- The launch configuration of a filter or pipeline of the current buffer: asks
--- which (vim.ui.select, when there is more than one) and on which photo
--- (vim.ui.input; empty: the bundled photo). Runs in nvim-dap's coroutine; an
--- answer left out aborts the run.
local function ask_filter(dap)
  local bufnr = vim.api.nvim_get_current_buf()
  local program = vim.api.nvim_buf_get_name(bufnr)
  local abort = { type = 'chop', request = 'launch', name = M.LAUNCH_FILTER, program = dap.ABORT }
  local targets = require('chop').targets(bufnr)
  if #targets == 0 then
    notify(program .. ' has no filter or pipeline', vim.log.levels.ERROR)
    return abort
  end
  local choice = targets[1]
  if #targets > 1 then
    choice = await(function(resume)
      vim.ui.select(targets, {
        prompt = 'Chop: debug which filter?',
        format_item = function(item)
          return item.kind .. ' ' .. item.name
        end,
      }, resume)
    end)
  end
  if not choice then
    return abort
  end
  local photo = await(function(resume)
    vim.ui.input({ prompt = 'Photo (empty: the bundled photo): ', completion = 'file' }, resume)
  end)
  if photo == nil then
    return abort
  end
  local config = {
    type = 'chop',
    request = 'launch',
    name = M.LAUNCH_FILTER,
    program = program,
    [choice.kind] = choice.name,
  }
  if vim.trim(photo) ~= '' then
    config.input = vim.fn.fnamemodify(vim.fn.expand(vim.trim(photo)), ':p')
  end
  return config
end

--- The configurations setup() registers for Chop buffers.
---@param dap table nvim-dap
---@return table[]
function M.configurations(dap)
  return {
    {
      type = 'chop',
      request = 'launch',
      name = M.LAUNCH_MAIN,
      program = '${file}',
    },
    setmetatable({ type = 'chop', request = 'launch', name = M.LAUNCH_FILTER }, {
      __call = function()
        return ask_filter(dap)
      end,
    }),
  }
end

--- Registers the adapter `chop` and the configurations of Chop buffers with
--- nvim-dap, when it is installed. Returns whether it is. The adapter is looked for
--- at each run: opts.dap_path, else beside chop-lsp, else on PATH.
---@return boolean
function M.setup()
  local dap = M.dap()
  if not dap then
    return false
  end
  dap.adapters.chop = function(callback)
    local chop = require('chop')
    local path, err = chop.find_tool('chop-dap', chop.options.dap_path, 'dap_path')
    if not path then
      notify(err or 'chop-dap not found', vim.log.levels.ERROR)
      return
    end
    callback({ type = 'executable', command = path, options = { source_filetype = 'chop' } })
  end
  -- Ours replace the last setup()'s; the user's own stay.
  local mine = { [M.LAUNCH_MAIN] = true, [M.LAUNCH_FILTER] = true }
  local configs = {}
  for _, config in ipairs(dap.configurations.chop or {}) do
    if not mine[config.name] then
      table.insert(configs, config)
    end
  end
  vim.list_extend(configs, M.configurations(dap))
  dap.configurations.chop = configs
  dap.listeners.after['event_chunkvm/migrated']['chop'] = function(session, body)
    -- nvim-dap decodes JSON null in objects as nil: a thread that came home by
    -- itself (its node stopped or died) has no `from`.
    if body and (body.from == nil or body.from == vim.NIL) then
      notify(('the thread came home by itself (from %s)'):format(tostring(body.to)), vim.log.levels.WARN)
    end
    M.refresh(session)
  end
  return true
end

--- Asks the session again for its threads (their names say where they run) and,
--- when it is stopped, for the stack and scopes: what a migration changed.
---@param session table a dap.Session
function M.refresh(session)
  if not session or session.closed or type(session.update_threads) ~= 'function' then
    return
  end
  session:update_threads(function(err)
    local tid = session.stopped_thread_id
    if err or not tid then
      return
    end
    session:request('stackTrace', { threadId = tid, startFrame = 0 }, function(serr, response)
      if serr or not response or session.stopped_thread_id ~= tid then
        return
      end
      local frames = response.stackFrames or {}
      local thread = session.threads[tid]
      if thread then
        thread.frames = frames
      end
      local top = frames[1]
      for _, frame in ipairs(frames) do
        if frame.source then
          top = frame
          break
        end
      end
      if top then
        session.current_frame = top
        if type(session._request_scopes) == 'function' then
          session:_request_scopes(top)
        end
      end
    end)
  end)
end

--- The names :ChopMigrate completes: `local` and the configured nodes.
---@return string[]
function M.node_names()
  local names = { 'local' }
  for name in pairs(require('chop').options.nodes or {}) do
    table.insert(names, name)
  end
  table.sort(names)
  return names
end

--- Where `node` points: `local`, `quic://HOST:PORT`, or the name of a configured
--- node. Returns the migrate request's node fields, or nil and why.
---@param node string
---@return { node: string, tokenFile: string?, fingerprint: string? }?, string?
function M.resolve_node(node)
  if node == 'local' or node:match('^quic://') then
    return { node = node }, nil
  end
  local nodes = require('chop').options.nodes or {}
  local spec = nodes[node]
  if type(spec) ~= 'table' or type(spec.address) ~= 'string' then
    local names = vim.tbl_keys(nodes)
    table.sort(names)
    return nil, ('no node %q: give quic://HOST:PORT, local, or a name of opts.nodes (%s)'):format(
      node, #names > 0 and table.concat(names, ', ') or 'none configured')
  end
  local fields = { node = spec.address, fingerprint = spec.fingerprint }
  if spec.token_file then
    fields.tokenFile = vim.fn.fnamemodify(vim.fn.expand(spec.token_file), ':p')
  end
  return fields, nil
end

--- The current nvim-dap session of chop-dap, or nil and why not.
---@return table?, string?
local function chop_session()
  local dap = M.dap()
  if not dap then
    return nil, 'nvim-dap is not installed'
  end
  local session = dap.session()
  if not session then
    return nil, 'no debug session'
  end
  if session.config and session.config.type ~= 'chop' then
    return nil, 'the current debug session is not a Chop one (' .. tostring(session.config.type) .. ')'
  end
  return session, nil
end

--- A byte count for people.
local function size(bytes)
  if type(bytes) ~= 'number' then
    return '? bytes'
  elseif bytes < 1024 then
    return ('%d bytes'):format(bytes)
  end
  return ('%.1f KB'):format(bytes / 1024)
end

--- Moves the thread of the current Chop debug session to `node` (`local`,
--- `quic://HOST:PORT` or a name of opts.nodes) with chop-dap's `migrate` request,
--- and reports the chunks and bytes moved and the time it took. `opts.on_done(body,
--- err)` gets the response's body ({ from, to, chunks, bytes, ms }).
---@param node string
---@param opts { on_done: fun(body: table?, err: string?)? }?
function M.migrate(node, opts)
  opts = opts or {}
  local done = opts.on_done or function() end
  local session, why = chop_session()
  if not session then
    notify('cannot migrate: ' .. why, vim.log.levels.ERROR)
    return done(nil, why)
  end
  local fields, bad = M.resolve_node(vim.trim(node or ''))
  if not fields then
    notify(bad or 'no node', vim.log.levels.ERROR)
    return done(nil, bad)
  end
  local arguments = vim.tbl_extend('force', { threadId = M.THREAD }, fields)
  notify('migrating the thread to ' .. node .. '...')
  session:request('migrate', arguments, function(err, body)
    if err or not body then
      local msg = err and tostring(err) or 'no answer'
      notify('migrate to ' .. node .. ' failed: ' .. msg, vim.log.levels.ERROR)
      return done(nil, msg)
    end
    notify(('migrated the thread from %s to %s: %s chunks (%s) in %s ms'):format(
      tostring(body.from), tostring(body.to), tostring(body.chunks), size(body.bytes),
      type(body.ms) == 'number' and ('%.1f'):format(body.ms) or tostring(body.ms)))
    M.refresh(session)
    done(body, nil)
  end)
end

--- The order residences are listed in.
local RESIDENCES = { 'here', 'prefetched', 'fetched', 'remote' }

--- The lines of the chunks buffer for a `chunks` response.
---@param body table
---@return string[]
function M.chunk_lines(body)
  local chunks = body.chunks or {}
  local node = body.node ~= vim.NIL and body.node or nil
  local address = body.address ~= vim.NIL and body.address or nil
  local lines = {
    ('thread %d: %d chunks from %s, %s'):format(M.THREAD, #chunks, tostring(body.root),
      node and ('on node ' .. node .. (address and (' (' .. address .. ')') or '')) or 'here'),
  }
  local groups, order = {}, vim.deepcopy(RESIDENCES)
  for _, chunk in ipairs(chunks) do
    local residence = tostring(chunk.residence)
    if not groups[residence] then
      groups[residence] = {}
      if not vim.tbl_contains(order, residence) then
        table.insert(order, residence)
      end
    end
    table.insert(groups[residence], chunk)
  end
  for _, residence in ipairs(order) do
    local group = groups[residence]
    if group then
      table.insert(lines, '')
      table.insert(lines, ('%s (%d)'):format(residence, #group))
      for _, chunk in ipairs(group) do
        local links = chunk.links or {}
        table.insert(lines, ('  %-24s %-10s %2s/32 slots  %d link%s%s%s'):format(
          tostring(chunk.id), tostring(chunk.kind), tostring(chunk.slotsUsed), #links, #links == 1 and '' or 's',
          #links > 0 and (': ' .. table.concat(links, ' ')) or '',
          chunk.current == true and '  <- current block' or ''))
      end
    end
  end
  return lines
end

--- Shows the chunks of the stopped thread of the current Chop debug session (the
--- `chunks` request) in the scratch buffer chop://chunks, grouped by residence.
--- `opts.on_done(body, err)` gets the response's body with `bufnr` added.
---@param opts { on_done: fun(body: table?, err: string?)? }?
function M.chunks(opts)
  opts = opts or {}
  local done = opts.on_done or function() end
  local session, why = chop_session()
  if not session then
    notify('no chunks to show: ' .. why, vim.log.levels.ERROR)
    return done(nil, why)
  end
  session:request('chunks', { threadId = M.THREAD }, function(err, body)
    if err or not body then
      local msg = err and tostring(err) or 'no answer'
      notify('chunks: ' .. msg, vim.log.levels.ERROR)
      return done(nil, msg)
    end
    body.bufnr = require('chop').scratch('chop://chunks', M.chunk_lines(body))
    done(body, nil)
  end)
end

--- Attaches nvim-dap to thread `thread` of a chunkvm node (`quic://HOST:PORT` or a
--- name of opts.nodes) with chop-dap's `attach` request (`chunkvm threads --on NODE`
--- lists the threads). The current buffer, when it is a Chop file, is given as the
--- `program` (a thread a client migrated travels without its source).
---@param node string
---@param thread integer
function M.attach(node, thread)
  local dap = M.dap()
  if not dap then
    notify('cannot attach: nvim-dap is not installed', vim.log.levels.ERROR)
    return
  end
  local fields, bad = M.resolve_node(vim.trim(node or ''))
  if not fields or fields.node == 'local' then
    notify(bad or 'attach to a node, not local', vim.log.levels.ERROR)
    return
  end
  if type(thread) ~= 'number' then
    notify('attach: give the thread id (`chunkvm threads --on NODE` lists them)', vim.log.levels.ERROR)
    return
  end
  local config = {
    type = 'chop',
    request = 'attach',
    name = ('Chop: attach to thread %d on %s'):format(thread, node),
    node = fields.node,
    thread = thread,
    tokenFile = fields.tokenFile,
    fingerprint = fields.fingerprint,
  }
  if vim.bo.filetype == 'chop' and vim.api.nvim_buf_get_name(0) ~= '' then
    config.program = vim.api.nvim_buf_get_name(0)
  end
  dap.run(config)
end

return M
