-- Headless Neovim against the real daemon: diagnostics, completion inside `{@spell fir`, hover,
-- the quick fix, go to definition into a d5e:// document, :D5eSearch, :D5eShow and :D5ePacks.
-- Run by tests/test_editors.py: nvim --headless -l tests/editors/nvim_test.lua
-- Env: D5E_TEST_CMD (JSON list: the daemon command), D5E_TEST_DIR (a scratch folder),
-- D5E_PLUGIN (editors/nvim). Any failure or a stall exits non-zero.
local TIMEOUT_MS = 30000

local messages = {}

local function fail(message)
  io.stderr:write("FAIL: " .. message .. "\n" .. table.concat(messages, "\n") .. "\n")
  os.exit(1)
end

-- No silent hang: whatever happens, stop after 100 s.
local watchdog = vim.uv.new_timer()
watchdog:start(100000, 0, function()
  io.stderr:write("FAIL: timeout\n")
  os.exit(3)
end)

local function check(ok, message)
  if not ok then
    fail(message)
  end
end

local function eq(actual, expected, what)
  check(vim.deep_equal(actual, expected), ("%s: expected %s, got %s"):format(what, vim.inspect(expected), vim.inspect(actual)))
end

local function wait_for(what, predicate)
  check(vim.wait(TIMEOUT_MS, predicate, 20), "timed out waiting for " .. what)
end

vim.opt.runtimepath:prepend(os.getenv("D5E_PLUGIN"))
local d5e = require("d5e")
d5e.setup({ cmd = vim.json.decode(os.getenv("D5E_TEST_CMD")), settings = { edition = "2014" } })

vim.notify = function(message)
  table.insert(messages, message)
end

local path = os.getenv("D5E_TEST_DIR") .. "/adventure.md"
vim.fn.writefile({
  "# Ambush",
  "The {@creature goblinn} waits.",
  "Cast {@spell fir",
  "Hover {@spell fireball} here.",
  "",
}, path)
vim.cmd.edit(vim.fn.fnameescape(path))
local buf = vim.api.nvim_get_current_buf()
vim.bo[buf].filetype = "markdown"

local client
wait_for("the d5e client", function()
  client = vim.lsp.get_clients({ bufnr = buf, name = "d5e" })[1]
  return client ~= nil and client.initialized
end)

-- Diagnostics: the misspelt goblin, with "did you mean".
wait_for("diagnostics", function()
  return #vim.diagnostic.get(buf) > 0
end)
local diagnostic = vim.diagnostic.get(buf)[1]
eq({ diagnostic.lnum, diagnostic.col, diagnostic.end_col }, { 1, 15, 22 }, "diagnostic range")
eq(diagnostic.message, [[unknown creature 'goblinn'; did you mean "goblin" or "hobgoblin"?]], "diagnostic message")

local uri = vim.uri_from_bufnr(buf)
local function request(method, params)
  local response, err = client:request_sync(method, params, TIMEOUT_MS, buf)
  check(response ~= nil, method .. ": no response: " .. tostring(err))
  check(response.err == nil, method .. ": " .. vim.inspect(response.err))
  return response.result
end

-- Completion inside `{@spell fir`, best first, then apply the first item as a client would.
local completion = request("textDocument/completion", {
  textDocument = { uri = uri },
  position = { line = 2, character = 16 },
})
local first = completion.items[1]
eq({ first.label, first.detail, first.textEdit.newText }, { "Fireball", "3rd-level evocation", "fireball}" }, "first completion")
eq(completion.items[2].label, "Fire Bolt", "second completion")
vim.lsp.util.apply_text_edits({ first.textEdit }, buf, client.offset_encoding)
eq(vim.api.nvim_buf_get_lines(buf, 2, 3, false)[1], "Cast {@spell fireball}", "line after completion")
local resolved = request("completionItem/resolve", first)
check(vim.startswith(resolved.documentation.value, "## Fireball"), "resolve adds the card")

-- Hover on a tag: the card, with the pack's attribution.
local hover = request("textDocument/hover", { textDocument = { uri = uri }, position = { line = 3, character = 10 } })
check(vim.startswith(hover.contents.value, "## Fireball\n\n*3rd-level evocation*"), "hover card: " .. hover.contents.value:sub(1, 80))
check(hover.contents.value:find("System Reference Document 5.1", 1, true) ~= nil, "hover attribution")

-- The quick fix, applied through Neovim's own code action command.
vim.api.nvim_win_set_cursor(0, { 2, 17 })
vim.lsp.buf.code_action({
  context = { only = { "quickfix" } },
  filter = function(action)
    return action.isPreferred
  end,
  apply = true,
})
wait_for("the quick fix", function()
  return vim.api.nvim_buf_get_lines(buf, 1, 2, false)[1] == "The {@creature goblin} waits."
end)
wait_for("diagnostics to clear", function()
  return #vim.diagnostic.get(buf) == 0
end)

-- Go to definition of an SRD entry: a read-only card in a buffer named after the entry
-- ("dnd://…": Vim keeps only letter schemes as they are), to which no language server attaches.
local function named(name)
  return vim.api.nvim_buf_get_name(0) == name
end
vim.api.nvim_win_set_cursor(0, { 4, 10 })
vim.lsp.buf.definition()
wait_for("the card of fireball", function()
  return named("dnd://srd-2014/spells/fireball.md")
    and vim.api.nvim_buf_get_lines(0, 0, 1, false)[1] == "## Fireball"
end)
local card = vim.api.nvim_get_current_buf()
check(not vim.bo.modifiable and vim.bo.buftype == "nofile" and vim.bo.filetype == "markdown",
  "cards are read-only Markdown")
eq(vim.lsp.get_clients({ bufnr = card }), {}, "language clients attached to the card")
check(vim.uri_from_bufnr(card) == "dnd://srd-2014/spells/fireball.md", "the card's URI is not a file://")
eq(vim.fn.bufnr("/fireball.md$"), card, "the card buffer")

-- The same card again (from the adventure): the same buffer.
vim.cmd.buffer(buf)
vim.lsp.buf.definition()
wait_for("the card of fireball again", function()
  return vim.api.nvim_get_current_buf() == card
end)

-- :D5eShow by name.
vim.cmd("D5eShow goblin")
wait_for(":D5eShow", function()
  return named("dnd://srd-2014/monsters/goblin.md")
end)
local goblin = vim.api.nvim_get_current_buf()

-- :edit d5e://… typed by the user: the card buffer, and no stray "<cwd>/d5e://…" buffer listed.
vim.cmd.buffer(buf)
vim.cmd.edit("d5e://srd-2014/monsters/goblin.md")
wait_for(":edit d5e://", function()
  return vim.api.nvim_get_current_buf() == goblin
end)
for _, info in ipairs(vim.fn.getbufinfo({ buflisted = 1 })) do
  check(not info.name:find("d5e://", 1, true), "stray buffer " .. info.name)
end
eq(vim.lsp.get_clients({ bufnr = goblin }), {}, "language clients attached to the goblin card")

-- A quickfix item naming a d5e:// URI (several definitions land there) opens the card, twice.
vim.fn.setqflist({ { filename = "d5e://srd-2014/spells/fireball.md", lnum = 1 } })
for round = 1, 2 do
  vim.cmd.buffer(buf)
  vim.cmd.cfirst()
  wait_for("the quickfix card, round " .. round, function()
    return vim.api.nvim_get_current_buf() == card
  end)
end

-- :D5eSearch: insert the tag of the first hit.
vim.cmd.buffer(buf)
vim.api.nvim_win_set_cursor(0, { 5, 0 })
vim.ui.select = function(items, _, on_choice)
  on_choice(items[1])
end
vim.cmd("D5eSearch fireball explosion")
wait_for(":D5eSearch", function()
  return vim.api.nvim_buf_get_lines(buf, 4, 5, false)[1] == "{@spell fireball}"
end)

-- :D5ePacks: the profile's packs; <CR> on srd-2024 turns it on, and the list follows.
vim.cmd("D5ePacks")
local packs_buf = vim.api.nvim_get_current_buf()
local function pack_line(id)
  for i, line in ipairs(vim.api.nvim_buf_get_lines(packs_buf, 0, -1, false)) do
    if line:sub(5, 5 + #id) == id .. " " then
      return line, i
    end
  end
end
wait_for(":D5ePacks", function()
  local line = pack_line("srd-2014")
  return line ~= nil and vim.startswith(line, "[x] srd-2014")
end)
local line, row = pack_line("srd-2024")
check(vim.startswith(line, "[ ] srd-2024") and line:find("off", 1, true) ~= nil, "srd-2024 is off: " .. line)
check(
  line:find("(off: the SRD of the other edition (this profile's edition is 2014))", 1, true) ~= nil,
  "why srd-2024 is off: " .. line
)
check(pack_line("srd-2014"):find("CC-BY-4.0", 1, true) ~= nil, "the licence is listed")
vim.api.nvim_win_set_cursor(0, { row, 0 })
vim.api.nvim_feedkeys(vim.keycode("<CR>"), "mx", false)
wait_for("srd-2024 turned on", function()
  return vim.startswith(pack_line("srd-2024"), "[x] srd-2024")
end)
-- Turned off elsewhere (here: a request of our own): d5e/packsChanged refreshes the list.
request("d5e/packs/disable", { pack = "srd-2024" })
wait_for("the list to follow d5e/packsChanged", function()
  return vim.startswith(pack_line("srd-2024"), "[ ] srd-2024")
end)
line = pack_line("srd-2024")
check(line:find("(off: turned off in this profile (d5e packs disable", 1, true) ~= nil, "why: " .. line)

print("nvim ok; D5eSearch inserted {@spell fireball}")
os.exit(0)
