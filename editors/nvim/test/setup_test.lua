-- Headless Neovim without nvim-dap: require('chop').setup() with the plugin's own
-- options does not error, registers no adapter and says so where it matters
-- (:ChopMigrate, :checkhealth chop); :ChopPreview writes the preview PNG and hands it
-- to vim.ui.open; :ChopNodes shows a node nobody listens at as dead.
--   nvim --headless -u editors/nvim/test/minimal_init.lua -l editors/nvim/test/setup_test.lua
local T = dofile(vim.fs.dirname(debug.getinfo(1, 'S').source:sub(2)) .. '/harness.lua')

--- Messages of the plugin, kept to look into (and printed, as the harness does).
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

T.run('neovim-setup', function()
  T.check(not pcall(require, 'dap'), 'nvim-dap is not on the runtimepath here')

  local scratch = vim.fn.tempname()
  vim.fn.mkdir(scratch, 'p')
  local token = scratch .. '/token'
  vim.fn.writefile({ string.rep('0', 64) }, token)
  local ok, err = pcall(require('chop').setup, {
    nodes = { gone = { address = 'quic://127.0.0.1:9', token_file = token } },
  })
  T.check(ok, 'setup() with nodes and without nvim-dap does not error', tostring(err))
  local chop = require('chop')
  T.check(chop.options.nodes.gone ~= nil, 'setup() keeps the plugin options (nodes)')
  T.check(vim.lsp.config.chop.nodes == nil, 'the plugin options are not passed to chop-lsp')
  for _, name in ipairs({ 'ChopMigrate', 'ChopChunks', 'ChopNodes', 'ChopPreview' }) do
    T.check(vim.fn.exists(':' .. name) == 2, ':' .. name .. ' exists')
  end

  local lsp = chop.lsp_path()
  local dap_path = chop.find_tool('chop-dap', nil, 'dap_path')
  T.check(dap_path ~= nil and lsp ~= nil and vim.fs.dirname(dap_path) == vim.fs.dirname(lsp),
    'chop-dap is found beside chop-lsp', vim.inspect({ lsp, dap_path }))
  local missing, why = chop.find_tool('chop-dap', scratch .. '/nothing', 'dap_path')
  T.check(missing == nil and why ~= nil and why:find('opts.dap_path', 1, true) ~= nil,
    'a dap_path that is no executable is refused, naming the option', tostring(why))

  local ran, cmd_err = pcall(vim.cmd, 'ChopMigrate local')
  T.check(ran, ':ChopMigrate without nvim-dap does not raise', tostring(cmd_err))
  T.check(noted('nvim-dap is not installed'), ':ChopMigrate says nvim-dap is not installed',
    table.concat(notes, ' | '))

  -- :checkhealth chop
  vim.cmd('checkhealth chop')
  local health = table.concat(vim.api.nvim_buf_get_lines(0, 0, -1, false), '\n')
  T.say('')
  for _, line in ipairs(vim.split(health, '\n')) do
    T.say('        | ' .. line)
  end
  T.check(health:find('chop-lsp: ' .. lsp .. ' (chop-lsp ', 1, true) ~= nil,
    'checkhealth: chop-lsp with its path and version', health)
  T.check(health:find('chop-dap: ' .. tostring(dap_path), 1, true) ~= nil,
    'checkhealth: chop-dap with its path', health)
  T.check(health:find('nvim-dap is not installed', 1, true) ~= nil,
    'checkhealth: nvim-dap is not installed', health)
  T.check(health:find('Chop parser', 1, true) ~= nil, 'checkhealth: the parser', health)
  if #vim.api.nvim_list_tabpages() > 1 then
    vim.cmd('tabclose')
  end

  -- :ChopPreview box: the PNG written, handed to vim.ui.open.
  vim.cmd.edit(T.fixtures .. '/filters.chop')
  local buf = vim.api.nvim_get_current_buf()
  T.check(T.wait(10000, function()
    local c = vim.lsp.get_clients({ bufnr = buf, name = 'chop' })[1]
    return c ~= nil and c.initialized
  end), 'chop-lsp attached to filters.chop')
  local opened
  vim.ui.open = function(path)
    opened = path
    return nil, 'no viewer in this test'
  end
  vim.cmd('ChopPreview box')
  T.wait(20000, function()
    return opened ~= nil
  end)
  local file = opened and io.open(opened, 'rb')
  local magic = file and file:read(8)
  if file then
    file:close()
  end
  T.check(magic == '\137PNG\r\n\26\n', ':ChopPreview wrote a PNG and opened it', tostring(opened))
  T.check(opened ~= nil and noted('preview written to ' .. opened), 'without a viewer it says the path',
    table.concat(notes, ' | '))

  -- :ChopNodes: a node nobody listens at is dead (chunkvm waits 5 s for it).
  local shown
  require('chop.nodes').show(nil, { on_done = function(result, e)
    shown = result or { err = e }
  end })
  T.wait(20000, function()
    return shown ~= nil
  end)
  local lines = shown and shown.bufnr and vim.api.nvim_buf_get_lines(shown.bufnr, 0, -1, false) or {}
  local text = table.concat(lines, '\n')
  T.check(text:find('gone%s+quic://127%.0%.0%.1:9%s+dead') ~= nil, ':ChopNodes shows gone as dead',
    text .. vim.inspect(shown and shown.err))
  vim.fn.delete(scratch, 'rf')
end)
