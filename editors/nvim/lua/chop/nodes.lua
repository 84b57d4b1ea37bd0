-- The status of chunkvm nodes (`chunkvm nodes ADDR... --format json`): the configured
-- nodes (opts.nodes) or those named, in the scratch buffer chop://nodes.
local M = {}

local function notify(msg, level)
  vim.notify('chop: ' .. msg, level or vim.log.levels.INFO)
end

--- The nodes to ask about: `names` (names of opts.nodes or quic:// addresses), or all
--- the configured nodes. Returns `{ name, address, token_file }` each, or nil and why.
---@param names string[]?
---@return { name: string, address: string, token_file: string? }[]?, string?
function M.targets(names)
  local nodes = require('chop').options.nodes or {}
  local list = {}
  if names and #names > 0 then
    for _, name in ipairs(names) do
      local spec = nodes[name]
      if name:match('^quic://') then
        table.insert(list, { name = name, address = name })
      elseif type(spec) == 'table' and type(spec.address) == 'string' then
        table.insert(list, { name = name, address = spec.address, token_file = spec.token_file })
      else
        return nil, ('no node %q: give quic://HOST:PORT or a name of opts.nodes'):format(name)
      end
    end
  else
    local sorted = vim.tbl_keys(nodes)
    table.sort(sorted)
    for _, name in ipairs(sorted) do
      local spec = nodes[name]
      if type(spec) == 'table' and type(spec.address) == 'string' then
        table.insert(list, { name = name, address = spec.address, token_file = spec.token_file })
      end
    end
    if #list == 0 then
      return nil, 'no nodes configured: setup({ nodes = { name = { address = "quic://HOST:PORT", token_file = ... } } })'
    end
  end
  return list, nil
end

--- Asks `chunkvm nodes` about `targets` (one run per token file) and calls
--- `on_done(rows, err)` with a row per target: its `name` and `address`, the name
--- the node gives itself (`reported`) and what chunkvm answered (status, threads,
--- chunks, load, rtt_ms; or error).
---@param targets { name: string, address: string, token_file: string? }[]
---@param on_done fun(rows: table[]?, err: string?)
function M.status(targets, on_done)
  local chop = require('chop')
  local chunkvm, why = chop.find_tool('chunkvm', chop.options.chunkvm_path, 'chunkvm_path')
  if not chunkvm then
    return on_done(nil, why)
  end
  local groups, order = {}, {}
  for _, target in ipairs(targets) do
    local key = target.token_file and vim.fn.fnamemodify(vim.fn.expand(target.token_file), ':p') or ''
    if not groups[key] then
      groups[key] = {}
      table.insert(order, key)
    end
    table.insert(groups[key], target)
  end
  local answers, pending, failure = {}, #order, nil
  local function finish()
    pending = pending - 1
    if pending > 0 then
      return
    end
    if failure then
      return on_done(nil, failure)
    end
    local rows = {}
    for _, target in ipairs(targets) do
      local row = vim.deepcopy(answers[target.address] or { status = 'dead', error = 'no answer from chunkvm' })
      row.reported = row.name
      row.name, row.address = target.name, target.address
      table.insert(rows, row)
    end
    on_done(rows, nil)
  end
  for _, key in ipairs(order) do
    local cmd = { chunkvm, 'nodes' }
    for _, target in ipairs(groups[key]) do
      table.insert(cmd, target.address)
    end
    if key ~= '' then
      vim.list_extend(cmd, { '--token-file', key })
    end
    vim.list_extend(cmd, { '--format', 'json' })
    local ok, started = pcall(vim.system, cmd, { text = true, timeout = 6000 * #groups[key] + 5000 },
      function(res)
        vim.schedule(function()
          local decoded_ok, rows = pcall(vim.json.decode, res.stdout or '')
          if res.code ~= 0 or not decoded_ok or type(rows) ~= 'table' then
            failure = failure or ('%s failed (exit %s): %s'):format(table.concat(cmd, ' '),
              tostring(res.code), vim.trim(res.stderr or ''))
          else
            for _, row in ipairs(rows) do
              answers[row.node] = row
            end
          end
          finish()
        end)
      end)
    if not ok then
      failure = failure or ('cannot run %s: %s'):format(chunkvm, tostring(started))
      finish()
    end
  end
end

--- A JSON value as text (null and nil as `-`).
local function text(value)
  if value == nil or value == vim.NIL then
    return '-'
  end
  return tostring(value)
end

--- The lines of the nodes buffer.
---@param rows table[]
---@return string[]
function M.lines(rows)
  local lines = {
    ('chunkvm nodes, %s (r: refresh)'):format(os.date('%H:%M:%S')),
    '',
    ('%-14s %-28s %-6s %7s %8s %5s %10s'):format('NAME', 'NODE', 'STATUS', 'THREADS', 'CHUNKS', 'LOAD', 'RTT'),
  }
  for _, row in ipairs(rows) do
    local rtt = (row.rtt_ms ~= nil and row.rtt_ms ~= vim.NIL) and (text(row.rtt_ms) .. ' ms') or '-'
    -- A node named by its address shows the name it gives itself.
    local name = row.name == row.address and text(row.reported) or row.name
    table.insert(lines, ('%-14s %-28s %-6s %7s %8s %5s %10s'):format(name, row.address, text(row.status),
      text(row.threads), text(row.chunks), text(row.load), rtt))
    if row.error ~= nil and row.error ~= vim.NIL then
      table.insert(lines, '    ' .. text(row.error))
    end
  end
  return lines
end

--- Shows the status of the nodes `names` (default: all of opts.nodes) in the scratch
--- buffer chop://nodes (`r` there asks again). `opts.on_done(rows, err)` gets the
--- rows, with `bufnr`.
---@param names string[]?
---@param opts { on_done: fun(result: { rows: table[], bufnr: integer }?, err: string?)? }?
function M.show(names, opts)
  opts = opts or {}
  local done = opts.on_done or function() end
  local targets, why = M.targets(names)
  if not targets then
    notify(why or 'no nodes', vim.log.levels.ERROR)
    return done(nil, why)
  end
  M.status(targets, function(rows, err)
    if not rows then
      notify('nodes: ' .. tostring(err), vim.log.levels.ERROR)
      return done(nil, err)
    end
    local bufnr = require('chop').scratch('chop://nodes', M.lines(rows))
    vim.keymap.set('n', 'r', function()
      M.show(names)
    end, { buffer = bufnr, desc = 'Chop: ask the nodes again' })
    done({ rows = rows, bufnr = bufnr }, nil)
  end)
end

return M
