-- Headless Neovim with the plugin's default settings in a campaign whose d5e.toml asks for the
-- 2024 SRD: the daemon must settle on 2024 (settings the user left unset are not sent, since
-- what the editor sends wins over d5e.toml). Then d5e.toml is edited while Neovim runs
-- (Neovim on Linux watches no files for its language servers: the daemon's own watcher must see
-- it): the edition follows, and a broken d5e.toml is shown while the daemon goes on answering.
-- Run by tests/test_editors.py; env as nvim_test.lua. Any failure or a stall exits non-zero.
local watchdog = vim.uv.new_timer()
watchdog:start(60000, 0, function()
  io.stderr:write("FAIL: timeout\n")
  os.exit(3)
end)

local folder = os.getenv("D5E_TEST_DIR") .. "/campaign-2024"
vim.fn.mkdir(folder, "p")
vim.fn.writefile({ 'edition = "2024"' }, folder .. "/d5e.toml")
vim.fn.writefile({ "# Notes", "An {@feat alert} guard.", "" }, folder .. "/notes.md")

-- What the user is shown (window/showMessage, as Neovim shows it).
local messages = {}
local show_message = vim.lsp.handlers["window/showMessage"]
vim.lsp.handlers["window/showMessage"] = function(err, result, ctx, config)
  table.insert(messages, result.message)
  return show_message(err, result, ctx, config)
end
local function fail(message)
  io.stderr:write("FAIL: " .. message .. "\n" .. table.concat(messages, "\n") .. "\n")
  os.exit(1)
end

vim.opt.runtimepath:prepend(os.getenv("D5E_PLUGIN"))
require("d5e").setup({ cmd = vim.json.decode(os.getenv("D5E_TEST_CMD")) })
vim.cmd.edit(vim.fn.fnameescape(folder .. "/notes.md"))
local buf = vim.api.nvim_get_current_buf()
vim.bo[buf].filetype = "markdown"

local client
local ready = vim.wait(30000, function()
  client = vim.lsp.get_clients({ bufnr = buf, name = "d5e" })[1]
  return client ~= nil and client.initialized
end, 20)
if not ready then
  io.stderr:write("FAIL: no d5e client\n")
  os.exit(1)
end
local response = client:request_sync("d5e/status", vim.empty_dict(), 30000, buf)
if not response or response.err or response.result.edition ~= "2024" then
  io.stderr:write("FAIL: d5e/status: " .. vim.inspect(response) .. "\n")
  os.exit(1)
end

-- {@feat alert} is srd-2024's: no diagnostic. d5e.toml turned to 2014: the writer is told.
local function diagnostics()
  local found = {}
  for _, d in ipairs(vim.diagnostic.get(buf)) do
    table.insert(found, d.message)
  end
  return found
end
vim.wait(1000)
if #diagnostics() ~= 0 then
  fail("diagnostics in 2024: " .. vim.inspect(diagnostics()))
end
vim.fn.writefile({ 'edition = "2014"' }, folder .. "/d5e.toml")
local told = "feat 'alert' is only in srd-2024, not enabled in this profile"
if not vim.wait(20000, function()
  return #diagnostics() == 1 and diagnostics()[1]:find(told, 1, true) ~= nil
end, 20) then
  fail("d5e.toml turned to 2014, diagnostics: " .. vim.inspect(diagnostics()))
end

-- A broken d5e.toml: a warning naming its file and line; the daemon still answers.
vim.fn.writefile({ 'edition = "2024"', "party = [4, 4" }, folder .. "/d5e.toml")
local broken = "d5e: settings not applied: " .. folder .. "/d5e.toml"
if not vim.wait(20000, function()
  for _, message in ipairs(messages) do
    if vim.startswith(message, broken) then
      return true
    end
  end
end, 20) then
  fail("no warning for the broken d5e.toml")
end
response = client:request_sync("d5e/status", vim.empty_dict(), 30000, buf)
if not response or response.err or response.result.edition ~= "2014" then
  fail("d5e/status after the broken d5e.toml: " .. vim.inspect(response))
end

-- Neovim started in the campaign while that d5e.toml is broken: initialize was refused (a Lua
-- stack trace, and no language server until a restart). Now the daemon starts with the
-- defaults for what the file sets, names file, line and column, and applies the file once it
-- is fixed and saved.
local first = client
first:stop(true)
if not vim.wait(10000, function()
  return first:is_stopped()
end, 20) then
  fail("the first client did not stop")
end
messages = {}
vim.fn.writefile({ "# More", "" }, folder .. "/more.md")
vim.cmd.edit(vim.fn.fnameescape(folder .. "/more.md"))
local more = vim.api.nvim_get_current_buf()
vim.bo[more].filetype = "markdown"
if not vim.wait(30000, function()
  client = vim.lsp.get_clients({ bufnr = more, name = "d5e" })[1]
  return client ~= nil and client.id ~= first.id and client.initialized
end, 20) then
  fail("no d5e client started beside the broken d5e.toml")
end
local said = broken .. ":3:1: Unclosed array (none of it applied: defaults for edition, party)"
if not vim.wait(20000, function()
  return vim.tbl_contains(messages, said)
end, 20) then
  fail("no warning at start for the broken d5e.toml")
end
response = client:request_sync("d5e/status", vim.empty_dict(), 30000, more)
if not response or response.err or response.result.edition ~= "2014" then
  fail("d5e/status at start beside the broken d5e.toml: " .. vim.inspect(response))
end
vim.fn.writefile({ 'edition = "2024"' }, folder .. "/d5e.toml")
if not vim.wait(20000, function()
  response = client:request_sync("d5e/status", vim.empty_dict(), 30000, more)
  return response and response.result and response.result.edition == "2024"
end, 100) then
  fail("d5e.toml fixed, d5e/status: " .. vim.inspect(response))
end
print("nvim workspace ok")
os.exit(0)
