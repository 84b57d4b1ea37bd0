-- Headless Neovim with nvim-dap (a DAP client the project did not write) against
-- chop-dap: the adapter registered as type `chop`, a breakpoint on a marker line of
-- a debuggee, a launch configuration run, the stop awaited, and a variable's value
-- read through nvim-dap's session API. nvim-dap is vendored, not in a registry:
-- $CHOP_VENDOR/nvim-dap (scripts/e2e.sh passes ../shared/vendor); without it the
-- test says it is skipped and passes.
--   CHOP_VENDOR=../shared/vendor nvim --headless -u NONE -l tests/e2e/nvim/dap_test.lua
local root = vim.fs.normalize(vim.fn.fnamemodify(debug.getinfo(1, 'S').source:sub(2), ':p:h:h:h:h'))
vim.g.chop_repo = root
local T = dofile(root .. '/editors/nvim/test/harness.lua')

local function say(line)
  io.stdout:write(line, '\n')
  io.stdout:flush()
end

local vendor = vim.env.CHOP_VENDOR
local dap_dir = vendor and vendor ~= '' and vim.fs.normalize(vendor) .. '/nvim-dap' or nil
if not dap_dir or vim.fn.isdirectory(dap_dir .. '/lua/dap') == 0 then
  say('== neovim-dap: SKIPPED: nvim-dap is not vendored here ('
    .. (dap_dir and (dap_dir .. ' has no lua/dap') or 'CHOP_VENDOR is unset')
    .. '); set CHOP_VENDOR to the folder that holds nvim-dap/ to run it')
  os.exit(0)
end

vim.opt.swapfile = false
vim.opt.shadafile = 'NONE'
vim.opt.rtp:prepend(dap_dir)

--- How long one wait may take before the test fails (a hang, not a speed limit).
local WAIT = 20000

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

T.run('neovim-dap', function()
  local dap = require('dap')
  local adapter = vim.env.CHOP_DAP or (root .. '/target/debug/chop-dap')
  T.check(vim.fn.executable(adapter) == 1, 'chop-dap is built: ' .. adapter)
  dap.adapters.chop = { type = 'executable', command = adapter }

  local program = root .. '/debugger/tests/data/loop.chop'
  local bp1 = line_of(program, '#BP1')
  vim.cmd.edit(program)
  local buf = vim.api.nvim_get_current_buf()
  -- A breakpoint on the #BP1 line that stops when i is 3 (total is then 0 + 1 + 4).
  vim.api.nvim_win_set_cursor(0, { bp1, 0 })
  dap.set_breakpoint('i == 3')
  local placed = require('dap.breakpoints').get(buf)[buf] or {}
  T.check(#placed == 1 and placed[1].line == bp1, ('a breakpoint on line %d (#BP1)'):format(bp1),
    vim.inspect(placed))

  local stopped, exited, output = nil, nil, {}
  dap.listeners.after.event_stopped['chop-e2e'] = function(_, body)
    stopped = body
  end
  dap.listeners.after.event_exited['chop-e2e'] = function(_, body)
    exited = body
  end
  dap.listeners.after.event_output['chop-e2e'] = function(_, body)
    table.insert(output, body.output)
  end

  dap.run({ type = 'chop', request = 'launch', name = 'loop.chop', program = program })

  -- nvim-dap asks for the stack itself when the thread stops: wait for its frame.
  local got = T.wait(WAIT, function()
    local s = dap.session()
    return stopped ~= nil and s ~= nil and s.current_frame ~= nil
  end)
  if not T.check(got, 'the session stopped', 'output: ' .. table.concat(output)) then
    return
  end
  local session = dap.session()
  T.check(stopped.reason == 'breakpoint', 'it stopped on a breakpoint', vim.inspect(stopped))
  local frame = session.current_frame
  T.check(frame.name == 'main' and frame.line == bp1, 'the top frame is main at #BP1',
    vim.inspect({ frame.name, frame.line }))

  local err, scopes = request(session, 'scopes', { frameId = frame.id })
  if not T.check(err == nil and scopes ~= nil, 'scopes answered', vim.inspect(err)) then
    return
  end
  local handle
  for _, scope in ipairs(scopes.scopes) do
    if scope.name == 'Locals' then
      handle = scope.variablesReference
    end
  end
  if not T.check(handle ~= nil, 'a Locals scope', vim.inspect(scopes)) then
    return
  end
  local verr, vars = request(session, 'variables', { variablesReference = handle })
  local values = {}
  for _, v in ipairs(vars and vars.variables or {}) do
    values[v.name] = v.value
  end
  T.check(verr == nil and values.i == '3', 'i is 3', vim.inspect(verr or values))
  T.check(values.total == '5', 'total is 5', vim.inspect(values))
  T.check(values.items == '[10, 20, 30]', 'items is [10, 20, 30]', vim.inspect(values))

  local eerr, result = request(session, 'evaluate',
    { expression = 'total + i * 10', frameId = frame.id, context = 'repl' })
  T.check(eerr == nil and result and result.result == '35', 'evaluate total + i * 10 is 35',
    vim.inspect(eerr or result))

  -- Run to the end: the program prints, exits with 0, the session ends.
  dap.clear_breakpoints()
  dap.continue()
  local ended = T.wait(WAIT, function()
    return exited ~= nil and dap.session() == nil
  end)
  T.check(ended and exited.exitCode == 0, 'the program ran to its end (exit code 0)',
    vim.inspect(exited))
  T.check(table.concat(output):find('30 1.5 20 0.5', 1, true) ~= nil, 'it printed 30 1.5 20 0.5',
    table.concat(output))
end)
