// registry-compat-proxy web UI: the delete and undelete confirmations in a dialog over the
// page, and the pull command's copy button. Every page works without this script: the
// delete and put-back controls are links to their confirmation pages, and the pull command
// can be selected.
(() => {
  const dialog = document.createElement("dialog");
  dialog.className = "confirm-dialog";
  dialog.setAttribute("aria-label", "Confirm");

  /** Loads the confirmation page and shows its section in the dialog; on any trouble, goes there. */
  async function openConfirmation(href) {
    let section = null;
    try {
      const res = await fetch(href, { headers: { accept: "text/html" }, credentials: "same-origin" });
      if (res.ok) {
        const doc = new DOMParser().parseFromString(await res.text(), "text/html");
        section = doc.querySelector("section.confirm");
      }
    } catch {
      section = null;
    }
    if (section === null) {
      window.location.assign(href);
      return;
    }
    dialog.replaceChildren(document.importNode(section, true));
    if (!dialog.isConnected) document.body.append(dialog);
    dialog.showModal();
    dialog.querySelector("form button")?.focus();
  }

  function copyCommand(button) {
    const input = document.getElementById(button.dataset.copy);
    if (input === null) return;
    input.select();
    const done = () => {
      button.textContent = "Copied";
      setTimeout(() => {
        button.textContent = "Copy";
      }, 1500);
    };
    if (navigator.clipboard && window.isSecureContext) {
      navigator.clipboard.writeText(input.value).then(done, () => undefined);
    } else if (document.execCommand("copy")) {
      done();
    }
  }

  document.addEventListener("click", (event) => {
    const target = event.target instanceof Element ? event.target : null;
    if (target === null || event.button !== 0 || event.ctrlKey || event.metaKey || event.shiftKey) return;
    const confirmed = target.closest('a[data-testid="delete-tag"], a[data-testid="undelete-tag"]');
    if (confirmed !== null) {
      event.preventDefault();
      void openConfirmation(confirmed.href);
      return;
    }
    if (target.closest("dialog [data-close]") !== null) {
      event.preventDefault();
      dialog.close();
      return;
    }
    const copy = target.closest("button[data-copy]");
    if (copy !== null) copyCommand(copy);
  });

  // Copy buttons need this script: show them now.
  for (const button of document.querySelectorAll("button[data-copy]")) button.hidden = false;
})();
