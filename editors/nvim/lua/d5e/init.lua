-- d5e for Neovim 0.11+: the d5e daemon as the language server of Markdown and text buffers,
-- :D5eSearch (search the rules, insert a tag) and :D5eShow (read an entry), and the read-only
-- d5e:// documents that go to definition opens.
local M = {}

M.defaults = {
  -- The command that starts the daemon; `d5e` must be on PATH, or give the full path.
  cmd = { "d5e", "serve" },
  filetypes = { "markdown", "text" },
  root_markers = { "d5e.toml", ".git" },
  -- Sent as initializationOptions and as workspace settings; see the README's settings table.
  -- What is set here wins over the workspace's d5e.toml: leave out what d5e.toml should decide.
  settings = {
    -- edition = "2024", -- "2014" or "2024"; unset: d5e.toml decides (2014 when it says nothing)
    packs = vim.empty_dict(), -- { ["my-brew"] = 50 }: packs to enable, higher wins
    disabled = {}, -- packs to turn off
  },
  search_limit = 20,
}

M.config = vim.deepcopy(M.defaults)

local METHOD_NOT_FOUND = -32601

local function notify(message, level)
  vim.notify("d5e: " .. message, level or vim.log.levels.INFO)
end

--- The running d5e client (of the current buffer if it has one).
function M.client()
  local clients = vim.lsp.get_clients({ name = "d5e", bufnr = 0 })
  if #clients == 0 then
    clients = vim.lsp.get_clients({ name = "d5e" })
  end
  return clients[1]
end

--- What an error from the daemon means to the user.
function M.error_message(method, err)
  if err.code == METHOD_NOT_FOUND then
    return ("this d5e daemon does not offer %s yet; update d5e"):format(method)
  end
  return ("%s failed: %s"):format(method, err.message or vim.inspect(err))
end

--- Call `method` on the daemon; `on_result(result)` runs on success, errors are shown.
function M.request(method, params, on_result)
  local client = M.client()
  if not client then
    notify("the d5e language server is not running (open a Markdown file first)", vim.log.levels.ERROR)
    return
  end
  client:request(method, params, function(err, result)
    if err then
      notify(M.error_message(method, err), vim.log.levels.ERROR)
    else
      on_result(result)
    end
  end, 0)
end

local function insert_at_cursor(text)
  local row, col = unpack(vim.api.nvim_win_get_cursor(0))
  vim.api.nvim_buf_set_text(0, row - 1, col, row - 1, col, { text })
  vim.api.nvim_win_set_cursor(0, { row, col + #text })
end

--- Label of a search hit in the picker.
function M.hit_label(hit)
  local label = ("%s — %s (%s)"):format(hit.name, hit.collection, hit.pack)
  if hit.snippet and hit.snippet ~= "" then
    label = label .. ": " .. hit.snippet:gsub("%s+", " ")
  end
  return label
end

--- :D5eSearch [query]: search the rules by meaning and keywords, insert the chosen entry's tag.
function M.search(query)
  local buf, win = vim.api.nvim_get_current_buf(), vim.api.nvim_get_current_win()
  local function run(q)
    if not q or q == "" then
      return
    end
    M.request("d5e/search", { query = q, limit = M.config.search_limit }, function(result)
      local hits = result.hits or {}
      if #hits == 0 then
        notify(("nothing found for %q"):format(q))
        return
      end
      vim.ui.select(hits, { prompt = "d5e: " .. q, format_item = M.hit_label }, function(hit)
        if not hit then
          return
        end
        M.request("d5e/tagFor", { ref = hit.pack .. ":" .. hit.ref }, function(tag)
          if vim.api.nvim_win_is_valid(win) and vim.api.nvim_win_get_buf(win) == buf then
            vim.api.nvim_set_current_win(win)
            insert_at_cursor(tag.text)
          end
        end)
      end)
    end)
  end
  if query and query ~= "" then
    run(query)
  else
    vim.ui.input({ prompt = "d5e search: " }, run)
  end
end

--- The d5e:// URI of an entry (the format is documented in the README).
function M.entry_uri(entry)
  return ("d5e://%s/%s/%s.md"):format(entry.pack, entry.collection, entry.slug)
end

--- :D5eShow [name]: open the card of an entry by name, or of the tag under the cursor.
function M.show(name)
  if name and name ~= "" then
    M.request("d5e/lookup", { name = name }, function(result)
      vim.cmd.edit(vim.fn.fnameescape(M.entry_uri(result.entry)))
    end)
  else
    vim.lsp.buf.definition()
  end
end

--- Fill a d5e:// buffer with the entry's card (BufReadCmd).
function M.read_document(buf, uri)
  local client = M.client()
  if not client then
    notify("cannot open " .. uri .. ": the d5e language server is not running", vim.log.levels.ERROR)
    return
  end
  local response, err = client:request_sync("d5e/document", { uri = uri }, 10000, buf)
  local failure = err or (response and response.err)
  if failure or not response then
    notify(M.error_message("d5e/document", failure or { message = "no answer" }), vim.log.levels.ERROR)
    return
  end
  local bo = vim.bo[buf]
  bo.modifiable = true
  vim.api.nvim_buf_set_lines(buf, 0, -1, false, vim.split(response.result.text, "\n", { plain = true }))
  bo.buftype = "nofile"
  bo.bufhidden = "hide"
  bo.swapfile = false
  bo.modifiable = false
  bo.readonly = true
  bo.filetype = "markdown"
end

function M.setup(opts)
  M.config = vim.tbl_deep_extend("force", vim.deepcopy(M.defaults), opts or {})
  local settings = M.config.settings
  vim.lsp.config("d5e", {
    cmd = M.config.cmd,
    filetypes = M.config.filetypes,
    root_markers = M.config.root_markers,
    init_options = settings,
    settings = { d5e = settings },
  })
  vim.lsp.enable("d5e")

  local group = vim.api.nvim_create_augroup("d5e", { clear = true })
  vim.api.nvim_create_autocmd("BufReadCmd", {
    group = group,
    pattern = "d5e://*",
    callback = function(ev)
      -- <amatch> is expanded like a file name (cwd prepended); the URI is what follows.
      M.read_document(ev.buf, ev.match:match("d5e://.*$"))
    end,
  })
  vim.api.nvim_create_user_command("D5eSearch", function(cmd)
    M.search(cmd.args)
  end, { nargs = "*", desc = "d5e: search the rules and insert a tag" })
  vim.api.nvim_create_user_command("D5eShow", function(cmd)
    M.show(cmd.args)
  end, { nargs = "*", desc = "d5e: show an entry (by name, or the tag under the cursor)" })
end

return M
