/* EduTrust passkeys: the browser half of the WebAuthn ceremonies on our pages.
 *
 * A <form data-passkey="create|get"> fetches its options as JSON from data-options-url
 * (CSRF token from the form, sent as X-CSRF-Token), runs navigator.credentials.create()
 * or .get(), puts the result, as JSON with base64url binary members, into the form's
 * hidden "credential" field and submits the form normally. A "get" form marked
 * data-conditional also offers passkeys in the username field's autofill (conditional
 * mediation) while the page is open. Served from our own origin; no inline script.
 */
(function () {
  "use strict";

  function toBytes(text) {
    var b64 = text.replace(/-/g, "+").replace(/_/g, "/");
    while (b64.length % 4) { b64 += "="; }
    var binary = atob(b64);
    var out = new Uint8Array(binary.length);
    for (var i = 0; i < binary.length; i++) { out[i] = binary.charCodeAt(i); }
    return out.buffer;
  }

  function toText(buffer) {
    var bytes = new Uint8Array(buffer);
    var binary = "";
    for (var i = 0; i < bytes.length; i++) { binary += String.fromCharCode(bytes[i]); }
    return btoa(binary).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
  }

  function descriptors(list) {
    return (list || []).map(function (d) {
      return Object.assign({}, d, { id: toBytes(d.id) });
    });
  }

  function creationOptions(json) {
    return Object.assign({}, json, {
      challenge: toBytes(json.challenge),
      user: Object.assign({}, json.user, { id: toBytes(json.user.id) }),
      excludeCredentials: descriptors(json.excludeCredentials)
    });
  }

  function requestOptions(json) {
    return Object.assign({}, json, {
      challenge: toBytes(json.challenge),
      allowCredentials: descriptors(json.allowCredentials)
    });
  }

  function credentialJSON(credential) {
    var r = credential.response;
    var response = { clientDataJSON: toText(r.clientDataJSON) };
    if (r.attestationObject) {
      response.attestationObject = toText(r.attestationObject);
      response.transports = typeof r.getTransports === "function" ? r.getTransports() : [];
    } else {
      response.authenticatorData = toText(r.authenticatorData);
      response.signature = toText(r.signature);
      response.userHandle = r.userHandle ? toText(r.userHandle) : null;
    }
    return {
      id: credential.id,
      rawId: toText(credential.rawId),
      type: credential.type,
      response: response,
      authenticatorAttachment: credential.authenticatorAttachment || null,
      clientExtensionResults: typeof credential.getClientExtensionResults === "function"
        ? credential.getClientExtensionResults() : {}
    };
  }

  function field(form, name) {
    return form.querySelector('[name="' + name + '"]');
  }

  function say(form, text) {
    var box = form.parentNode.querySelector("[data-passkey-message]");
    if (box) {
      box.textContent = text || "";
      box.hidden = !text;
    }
  }

  function fetchOptions(form, extra) {
    var body = Object.assign({ step: form.dataset.step }, extra || {});
    return fetch(form.dataset.optionsUrl, {
      method: "POST",
      credentials: "same-origin",
      headers: {
        "Content-Type": "application/json",
        "Accept": "application/json",
        "X-CSRF-Token": field(form, "csrf_token").value
      },
      body: JSON.stringify(body)
    }).then(function (res) {
      return res.json().then(function (data) {
        if (!res.ok) { throw new Error(data.detail || form.dataset.failed); }
        return data;
      });
    });
  }

  function finish(form, credential) {
    field(form, "credential").value = JSON.stringify(credentialJSON(credential));
    HTMLFormElement.prototype.submit.call(form);
  }

  function setUp(form) {
    var button = form.querySelector("button[type=submit]");
    if (!window.PublicKeyCredential || !navigator.credentials) {
      say(form, form.dataset.unsupported);
      if (button) { button.disabled = true; }
      return;
    }
    var kind = form.dataset.passkey;
    var conditional = null;
    var busy = false;

    form.addEventListener("submit", function (event) {
      event.preventDefault();
      if (busy) { return; }
      busy = true;
      say(form, "");
      // A pending autofill request must be over before a modal one may start.
      var ready = Promise.resolve();
      if (conditional) {
        conditional.controller.abort();
        ready = conditional.done;
        conditional = null;
      }
      ready.then(function () {
        if (kind === "create") {
          return fetchOptions(form).then(function (json) {
            return navigator.credentials.create({ publicKey: creationOptions(json) });
          });
        }
        var username = field(form, "username");
        return fetchOptions(form, { username: username ? username.value.trim() : "" })
          .then(function (json) {
            return navigator.credentials.get({ publicKey: requestOptions(json) });
          });
      }).then(function (credential) {
        if (credential) {
          finish(form, credential);
        } else {
          busy = false;
        }
      }).catch(function (error) {
        busy = false;
        var known = error && error.message && error.name === "Error";
        say(form, known ? error.message : form.dataset.failed);
      });
    });

    if (kind === "get" && form.dataset.conditional &&
        typeof PublicKeyCredential.isConditionalMediationAvailable === "function") {
      PublicKeyCredential.isConditionalMediationAvailable().then(function (available) {
        if (!available || busy) { return; }
        var controller = new AbortController();
        var done = fetchOptions(form, {}).then(function (json) {
          return navigator.credentials.get({
            publicKey: requestOptions(json), mediation: "conditional", signal: controller.signal
          });
        }).then(function (credential) {
          if (credential && !controller.signal.aborted) {
            busy = true;
            finish(form, credential);
          }
        }).catch(function () { /* aborted or dismissed: the button still works */ });
        conditional = { controller: controller, done: done };
      }).catch(function () { /* no autofill: the button still works */ });
    }
  }

  Array.prototype.forEach.call(document.querySelectorAll("form[data-passkey]"), setUp);
}());
