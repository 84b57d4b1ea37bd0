-- Headless Neovim with nvim-dap and the Chop plugin: require('chop').setup() registers
-- the adapter and the configurations (nothing by hand); the launch configuration of
-- main runs loop.chop to a conditional breakpoint; :ChopMigrate moves the thread to a
-- `chunkvm serve` the test starts (named in opts.nodes, fingerprint pinned), a step
-- and a variable read there, the thread named `main @ NODE`, :ChopChunks and
-- :ChopNodes, then :ChopMigrate local and a run to the end. nvim-dap is vendored:
-- $CHOP_VENDOR/nvim-dap; without it the test says it is skipped and passes.
--   CHOP_VENDOR=../shared/vendor nvim --headless -u editors/nvim/test/minimal_init.lua \
--     -l tests/e2e/nvim/migrate_test.lua
local root = vim.fs.normalize(vim.fn.fnamemodify(debug.getinfo(1, 'S').source:sub(2), ':p:h:h:h:h'))
vim.g.chop_repo = root
local T = dofile(root .. '/editors/nvim/test/harness.lua')

local vendor = vim.env.CHOP_VENDOR
local dap_dir = vendor and vendor ~= '' and vim.fs.normalize(vendor) .. '/nvim-dap' or nil
if not dap_dir or vim.fn.isdirectory(dap_dir .. '/lua/dap') == 0 then
  T.say('== neovim-dap-migrate: SKIPPED: nvim-dap is not vendored here ('
    .. (dap_dir and (dap_dir .. ' has no lua/dap') or 'CHOP_VENDOR is unset')
    .. '); set CHOP_VENDOR to the folder that holds nvim-dap/ to run it')
  os.exit(0)
end
vim.opt.rtp:prepend(dap_dir)

--- How long one wait may take before the test fails (a hang, not a speed limit).
local WAIT = 20000

--- The node's name.
local NODE = 'e2e-nvim'

--- Messages of the plugin and of nvim-dap, kept to look into.
local notes = {}
local print_note = vim.notify
vim.notify = function(msg, level)
  table.insert(notes, tostring(msg))
  print_note(msg, level)
end

local function noted(text)
  for _, note in ipairs(notes) do
    if note:find(text, 1, true) then
      return true
    end
  end
  return false
end

--- The 1-based line of `file` that holds `marker` (`// #BP1`).
local function line_of(file, marker)
  for i, line in ipairs(vim.fn.readfile(file)) do
    if line:find(marker, 1, true) then
      return i
    end
  end
  error('no ' .. marker .. ' in ' .. file)
end

--- Sends a request through the session and waits for its answer: err, body.
local function request(session, command, arguments)
  local done, err, body = false, nil, nil
  session:request(command, arguments, function(e, b)
    done, err, body = true, e, b
  end)
  if not T.wait(WAIT, function() return done end) then
    return { message = command .. ': no answer within ' .. WAIT .. ' ms' }, nil
  end
  return err, body
end

--- The Locals of the session's current frame, name to value.
local function locals(session)
  local err, scopes = request(session, 'scopes', { frameId = session.current_frame.id })
  if err or not scopes then
    return {}
  end
  for _, scope in ipairs(scopes.scopes) do
    if scope.name == 'Locals' then
      local _, vars = request(session, 'variables', { variablesReference = scope.variablesReference })
      local values = {}
      for _, v in ipairs(vars and vars.variables or {}) do
        values[v.name] = v.value
      end
      return values
    end
  end
  return {}
end

--- The name of thread 1, asked of the adapter.
local function thread_name(session)
  local _, body = request(session, 'threads', nil)
  local thread = body and body.threads and body.threads[1]
  return thread and thread.name
end

--- Starts `chunkvm serve` on a free port of 127.0.0.1 with its state in `state` and
--- reads its first three lines: address, fingerprint, token file.
local function start_node(state)
  local chunkvm = vim.env.CHUNKVM or (root .. '/target/debug/chunkvm')
  local out = ''
  local proc = vim.system({ chunkvm, 'serve', '--listen', '127.0.0.1:0', '--name', NODE, '--state', state },
    {
      text = true,
      stdout = function(_, data)
        out = out .. (data or '')
      end,
    })
  local node = {}
  T.wait(WAIT, function()
    node.address = out:match('node %S+ listening on (quic://%S+)')
    node.fingerprint = out:match('\nfingerprint (%S+)')
    node.token_file = out:match('\ntoken file ([^\n]+)\n')
    return node.address ~= nil and node.fingerprint ~= nil and node.token_file ~= nil
  end)
  return proc, node, out
end

local function body(dap, proc, node)
  if not T.check(node.address ~= nil, 'the node is up: ' .. tostring(node.address), node.out) then
    return
  end

  -- setup(): the adapter and the configurations, from the plugin.
  require('chop').setup({
    nodes = { [NODE] = { address = node.address, token_file = node.token_file, fingerprint = node.fingerprint } },
  })
  local chop_dap = require('chop.dap')
  T.check(type(dap.adapters.chop) == 'function', 'setup() registered the adapter chop')
  local configs = dap.configurations.chop or {}
  local names = vim.tbl_map(function(c) return c.name end, configs)
  T.check(#configs == 2 and names[1] == chop_dap.LAUNCH_MAIN and names[2] == chop_dap.LAUNCH_FILTER,
    'setup() registered the configurations main and filter', vim.inspect(names))
  require('chop').setup({
    nodes = { [NODE] = { address = node.address, token_file = node.token_file, fingerprint = node.fingerprint } },
  })
  T.check(#(dap.configurations.chop or {}) == 2, 'a second setup() replaces them, not adds')

  -- The filter configuration asks which filter and which photo.
  local fixture = T.fixtures .. '/filters.chop'
  vim.cmd.edit(fixture)
  local asked
  vim.ui.select = function(items, _, on_choice)
    asked = vim.tbl_map(function(i) return i.name end, items)
    on_choice(items[2])
  end
  vim.ui.input = function(_, on_confirm)
    on_confirm(root .. '/samples/chelsea.png')
  end
  local resolved
  coroutine.wrap(function()
    resolved = configs[2]()
  end)()
  T.wait(WAIT, function() return resolved ~= nil end)
  T.check(vim.deep_equal(asked, { 'dim', 'box', 'dim_box' }), 'it offers the filters and pipelines of the file',
    vim.inspect(asked))
  T.check(resolved and resolved.filter == 'box' and resolved.program == fixture
    and resolved.input == root .. '/samples/chelsea.png', 'it launches the filter chosen on the photo given',
    vim.inspect(resolved))
  vim.ui.select = function(_, _, on_choice)
    on_choice(nil)
  end
  resolved = nil
  coroutine.wrap(function()
    resolved = configs[2]()
  end)()
  T.wait(WAIT, function() return resolved ~= nil end)
  T.check(resolved and resolved.program == dap.ABORT, 'no filter chosen: the run is aborted')

  -- A conditional breakpoint on #BP1, and the configuration of main.
  local program = root .. '/debugger/tests/data/loop.chop'
  local bp1, after = line_of(program, '#BP1'), line_of(program, '#AFTER')
  vim.cmd.edit(program)
  local buf = vim.api.nvim_get_current_buf()
  vim.api.nvim_win_set_cursor(0, { bp1, 0 })
  dap.set_breakpoint('i == 3')
  local stopped, exited, migrated, output = nil, nil, {}, {}
  dap.listeners.after.event_stopped['chop-e2e'] = function(_, b)
    stopped = b
  end
  dap.listeners.after.event_exited['chop-e2e'] = function(_, b)
    exited = b
  end
  dap.listeners.after['event_chunkvm/migrated']['chop-e2e'] = function(_, b)
    table.insert(migrated, b)
  end
  dap.listeners.after.event_output['chop-e2e'] = function(_, b)
    table.insert(output, b.output)
  end
  dap.run(configs[1])
  local got = T.wait(WAIT, function()
    local s = dap.session()
    return stopped ~= nil and s ~= nil and s.current_frame ~= nil
  end)
  if not T.check(got, 'the launch configuration of main stopped', table.concat(output)) then
    return
  end
  local session = dap.session()
  T.check(session.config.program == program, 'it debugs the current file', tostring(session.config.program))
  T.check(stopped.reason == 'breakpoint' and session.current_frame.line == bp1,
    ('it stopped on the breakpoint, line %d'):format(bp1),
    vim.inspect({ stopped.reason, session.current_frame.line }))
  local values = locals(session)
  T.check(values.i == '3' and values.total == '5', 'i is 3 and total 5 here', vim.inspect(values))

  -- :ChopMigrate NODE: the thread moves, its name says where.
  vim.cmd('ChopMigrate ' .. NODE)
  local moved = T.wait(WAIT, function()
    return #migrated == 1 and noted('migrated the thread from local to ' .. NODE)
  end)
  T.check(moved, ':ChopMigrate ' .. NODE .. ' moved the thread and said so', table.concat(notes, ' | '))
  T.check(migrated[1] and migrated[1].to == NODE and (migrated[1].chunks or 0) > 0,
    'the chunkvm/migrated event: chunks moved to ' .. NODE, vim.inspect(migrated[1]))
  T.check(thread_name(session) == 'main @ ' .. NODE, 'the thread is named main @ ' .. NODE,
    tostring(thread_name(session)))
  T.check(T.wait(WAIT, function()
    return session.threads[1] and session.threads[1].name == 'main @ ' .. NODE
  end), "nvim-dap's thread list shows the new name")

  -- A step on the node, and a variable read there.
  stopped = nil
  dap.step_over()
  local stepped = T.wait(WAIT, function()
    return stopped ~= nil and session.current_frame ~= nil and session.current_frame.line == after
  end)
  T.check(stepped, ('a step on the node: line %d'):format(after),
    vim.inspect({ stopped, session.current_frame and session.current_frame.line }))
  values = locals(session)
  T.check(values.total == '14' and values.i == '3', 'total is 14 and i 3 on the node', vim.inspect(values))

  -- :ChopChunks: the thread's chunks by residence.
  vim.cmd('ChopChunks')
  local chunks_buf
  T.wait(WAIT, function()
    for _, b in ipairs(vim.api.nvim_list_bufs()) do
      if vim.api.nvim_buf_is_loaded(b) and vim.api.nvim_buf_get_name(b) == 'chop://chunks' then
        chunks_buf = b
        return true
      end
    end
    return false
  end)
  local text = chunks_buf and table.concat(vim.api.nvim_buf_get_lines(chunks_buf, 0, -1, false), '\n') or ''
  for i, line in ipairs(vim.split(text, '\n')) do
    if i <= 8 then
      T.say('        | ' .. line)
    end
  end
  T.check(text:find('on node ' .. NODE .. ' (' .. node.address .. ')', 1, true) ~= nil,
    ':ChopChunks says the thread is on ' .. NODE, text:sub(1, 200))
  T.check(text:find('\nremote %(%d+%)\n') ~= nil and text:find(' Thread ', 1, true) ~= nil,
    ':ChopChunks lists the remote chunks, the Thread among them', text:sub(1, 400))
  T.check(text:find('<- current block', 1, true) ~= nil, ':ChopChunks marks the current block')
  if chunks_buf then
    vim.cmd('close')
  end

  -- :ChopNodes: the node and its status.
  vim.cmd('ChopNodes')
  local nodes_buf
  T.wait(WAIT, function()
    for _, b in ipairs(vim.api.nvim_list_bufs()) do
      if vim.api.nvim_buf_is_loaded(b) and vim.api.nvim_buf_get_name(b) == 'chop://nodes' then
        nodes_buf = b
        return true
      end
    end
    return false
  end)
  local lines = nodes_buf and table.concat(vim.api.nvim_buf_get_lines(nodes_buf, 0, -1, false), '\n') or ''
  local status, threads = lines:match(vim.pesc(NODE) .. '%s+' .. vim.pesc(node.address) .. '%s+(%a+)%s+(%d+)')
  T.check(status == 'idle' or status == 'busy', ':ChopNodes: ' .. NODE .. ' is up (idle or busy)', lines)
  T.check(threads == '1', ':ChopNodes: ' .. NODE .. ' holds one thread', lines)
  if nodes_buf then
    vim.cmd('close')
  end

  -- :ChopMigrate local: home again, the same values.
  vim.cmd('ChopMigrate local')
  T.check(T.wait(WAIT, function()
    return #migrated == 2 and noted('migrated the thread from ' .. NODE .. ' to local')
  end), ':ChopMigrate local brought it home', table.concat(notes, ' | '))
  T.check(thread_name(session) == 'main', 'the thread is named main again', tostring(thread_name(session)))
  values = locals(session)
  T.check(values.total == '14', 'total is still 14 at home', vim.inspect(values))

  -- Run to the end.
  dap.clear_breakpoints()
  dap.continue()
  local ended = T.wait(WAIT, function()
    return exited ~= nil and dap.session() == nil
  end)
  T.check(ended and exited.exitCode == 0, 'the program ran to its end (exit code 0)', vim.inspect(exited))
  T.check(table.concat(output):find('30 1.5 20 0.5', 1, true) ~= nil, 'it printed 30 1.5 20 0.5',
    table.concat(output))
  T.check(vim.api.nvim_buf_is_valid(buf), 'the source buffer is still there')
end

T.run('neovim-dap-migrate', function()
  local dap = require('dap')
  local state = vim.fn.tempname()
  vim.fn.mkdir(state, 'p')
  local proc, node, out = start_node(state)
  node.out = out
  local ok, err = xpcall(body, debug.traceback, dap, proc, node)
  if dap.session() then
    dap.terminate()
    T.wait(5000, function() return dap.session() == nil end)
  end
  proc:kill(15)
  local gone = T.wait(WAIT, function()
    return proc:is_closing()
  end)
  if not gone then
    proc:kill(9)
  end
  T.check(gone, 'the node stopped on SIGTERM (pid ' .. proc.pid .. ')')
  vim.fn.delete(state, 'rf')
  if not ok then
    error(err)
  end
end)
