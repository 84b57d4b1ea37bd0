-- A tiny harness for the headless Neovim tests: checks that print what they
-- checked, markers in the fixtures, and the exit code.
local T = { passed = 0, failed = 0, name = 'nvim' }

--- Prints a line on standard output (print() in headless Neovim puts the newline
--- first, so the last line would have none).
local function say(line)
  io.stdout:write(line, '\n')
  io.stdout:flush()
end
T.say = say

-- Messages of the plugin, on their own lines.
vim.notify = function(msg, level)
  say('        (notify ' .. tostring(level or vim.log.levels.INFO) .. ': ' .. tostring(msg) .. ')')
end

T.root = vim.g.chop_repo or vim.fn.getcwd()
T.fixtures = T.root .. '/tests/e2e/fixtures'

--- Records a check: `ok` true passes; prints either way.
function T.check(ok, what, detail)
  if ok then
    T.passed = T.passed + 1
    say('  ok    ' .. what)
  else
    T.failed = T.failed + 1
    say('  FAIL  ' .. what .. (detail and (': ' .. detail) or ''))
  end
  return ok
end

--- Waits up to `ms` for `cond()`; returns whether it held.
function T.wait(ms, cond)
  return vim.wait(ms, cond, 20)
end

--- The 0-based line of a buffer that carries the comment `// @marker`.
function T.line_of(bufnr, marker)
  local lines = vim.api.nvim_buf_get_lines(bufnr, 0, -1, false)
  local pattern = '//%s*@' .. vim.pesc(marker) .. '%f[%s%z]'
  for i, line in ipairs(lines) do
    if line:find(pattern) then
      return i - 1
    end
  end
  error('marker @' .. marker .. ' not found')
end

--- The 0-based line and byte column of `needle` in the code of the marker's line.
function T.pos(bufnr, marker, needle)
  local row = T.line_of(bufnr, marker)
  local line = vim.api.nvim_buf_get_lines(bufnr, row, row + 1, false)[1]
  local code = line:sub(1, (line:find('// @', 1, true) or (#line + 1)) - 1)
  local col = code:find(needle, 1, true)
  assert(col, needle .. ' not on the @' .. marker .. ' line')
  return row, col - 1
end

--- Runs `fn` (errors count as a failure), prints the totals and exits.
function T.run(name, fn)
  T.name = name
  say(('== %s (Neovim %s)'):format(name, tostring(vim.version())))
  local ok, err = xpcall(fn, debug.traceback)
  if not ok then
    T.check(false, 'the test script ran to its end', err)
  end
  say(('%s: %d passed, %d failed'):format(name, T.passed, T.failed))
  for _, client in ipairs(vim.lsp.get_clients()) do
    client:stop()
  end
  T.wait(2000, function()
    return #vim.lsp.get_clients() == 0
  end)
  os.exit((T.failed == 0 and T.passed > 0) and 0 or 1)
end

return T
