// The stylesheet of the verification pages, served at /device/style.css. Pages link it rather
// than inline it because the Content-Security-Policy forbids inline styles.
//
// Mobile first: one column that works from 320 px wide and tap targets at least 44 px high.
// Text and controls have a contrast ratio of at least 4.5:1 (WCAG 2.1 AA) in both colour
// schemes, and every control shows a focus outline.

#include <string_view>

#include "http/response.h"
#include "web/verification_pages.h"

namespace devauth::web {
namespace {

constexpr std::string_view kStylesheet = R"css(:root {
  color-scheme: light dark;
  --text: #1b1b1f;
  --muted: #4a4a52;
  --background: #f4f4f6;
  --surface: #ffffff;
  --border: #6b6b75;
  --accent: #0b57d0;
  --accent-text: #ffffff;
  --link: #0b57d0;
  --error: #b3261e;
  --error-background: #fdeceb;
  --success: #146c2e;
  --success-background: #e6f4ea;
  --focus: #0b57d0;
}

@media (prefers-color-scheme: dark) {
  :root {
    --text: #ececf1;
    --muted: #c2c2cc;
    --background: #121214;
    --surface: #1e1e22;
    --border: #9a9aa6;
    --accent: #a8c7fa;
    --accent-text: #0a1d3d;
    --link: #a8c7fa;
    --error: #ffb4ab;
    --error-background: #3b1512;
    --success: #8bd3a0;
    --success-background: #0f2a17;
    --focus: #a8c7fa;
  }
}

*,
*::before,
*::after {
  box-sizing: border-box;
}

html {
  -webkit-text-size-adjust: 100%;
  text-size-adjust: 100%;
}

body {
  margin: 0;
  background: var(--background);
  color: var(--text);
  font-family: system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial,
    "Noto Sans", sans-serif;
  font-size: 1rem;
  line-height: 1.5;
}

header.brand {
  display: flex;
  align-items: center;
  gap: 0.625rem;
  max-width: 30rem;
  margin: 0 auto;
  padding: 1rem 1rem 0.75rem;
  border-bottom: 4px solid var(--accent);
  font-weight: 600;
}

header.brand .logo {
  width: 2rem;
  height: 2rem;
}

main {
  max-width: 30rem;
  margin: 0 auto;
  padding: 1.5rem 1rem 3rem;
}

h1 {
  margin: 0 0 1rem;
  font-size: 1.5rem;
  line-height: 1.25;
}

h2 {
  margin: 1.5rem 0 0.5rem;
  font-size: 1.125rem;
}

p,
ul,
dl {
  margin: 0 0 1rem;
}

.muted {
  color: var(--muted);
}

form {
  margin: 0;
}

label {
  display: block;
  margin: 1rem 0 0.375rem;
  font-weight: 600;
}

input[type="text"],
input[type="password"] {
  display: block;
  width: 100%;
  min-height: 2.75rem;
  padding: 0.625rem 0.75rem;
  border: 2px solid var(--border);
  border-radius: 0.5rem;
  background: var(--surface);
  color: var(--text);
  font: inherit;
  font-size: 1.125rem;
}

input.code {
  font-family: ui-monospace, "SF Mono", Menlo, Consolas, "Liberation Mono", monospace;
  font-size: 1.5rem;
  letter-spacing: 0.15em;
  text-align: center;
  text-transform: uppercase;
}

input.code::placeholder {
  color: var(--muted);
  letter-spacing: 0.15em;
}

.actions {
  display: flex;
  flex-direction: column;
  gap: 0.75rem;
  margin-top: 1.5rem;
}

button,
.button {
  display: block;
  width: 100%;
  min-height: 2.75rem;
  padding: 0.75rem 1rem;
  border: 2px solid var(--accent);
  border-radius: 0.5rem;
  background: var(--accent);
  color: var(--accent-text);
  font: inherit;
  font-weight: 600;
  text-align: center;
  text-decoration: none;
  cursor: pointer;
}

button.secondary {
  background: transparent;
  color: var(--text);
  border-color: var(--border);
}

a {
  color: var(--link);
}

a.button {
  color: var(--accent-text);
}

:focus-visible {
  outline: 3px solid var(--focus);
  outline-offset: 2px;
}

.error {
  padding: 0.75rem 1rem;
  border-left: 4px solid var(--error);
  border-radius: 0.25rem;
  background: var(--error-background);
  color: var(--text);
}

.hint {
  margin: 0 0 0.5rem;
  color: var(--muted);
  font-size: 0.875rem;
}

.success,
.notice {
  padding: 0.75rem 1rem;
  border-left: 4px solid var(--success);
  border-radius: 0.25rem;
  background: var(--success-background);
}

.notice {
  border-left-color: var(--border);
  background: var(--surface);
}

[hidden] {
  display: none !important;
}

.visually-hidden {
  position: absolute;
  width: 1px;
  height: 1px;
  overflow: hidden;
  clip: rect(0 0 0 0);
  white-space: nowrap;
}

.code-display {
  display: block;
  margin: 0.5rem 0 1rem;
  padding: 0.75rem;
  border: 2px dashed var(--border);
  border-radius: 0.5rem;
  background: var(--surface);
  font-family: ui-monospace, "SF Mono", Menlo, Consolas, "Liberation Mono", monospace;
  font-size: 1.75rem;
  letter-spacing: 0.15em;
  text-align: center;
}

.scopes {
  padding-left: 1.25rem;
}

.scopes code {
  font-size: 1rem;
}

dl.details {
  display: grid;
  grid-template-columns: auto;
  gap: 0.125rem 1rem;
}

dl.details dt {
  color: var(--muted);
  font-size: 0.875rem;
}

dl.details dd {
  margin: 0 0 0.5rem;
  overflow-wrap: anywhere;
}

/* The device display page: a TV or kiosk screen, read from a distance. */
main.display,
body[data-page="display"] header.brand {
  max-width: 60rem;
}

.display-grid {
  display: flex;
  flex-direction: column;
  align-items: center;
  gap: 1.5rem;
}

.qr-box {
  width: 100%;
  max-width: 18rem;
}

.qr-box svg {
  display: block;
  width: 100%;
  height: auto;
}

.display-text {
  width: 100%;
}

.display-code {
  font-size: clamp(2rem, 9vw, 4rem);
  font-weight: 700;
}

.uri {
  overflow-wrap: anywhere;
}

.status {
  font-weight: 600;
}

.display-state h2 {
  font-size: clamp(1.5rem, 6vw, 3rem);
}

.display-state.approved h2 {
  color: var(--success);
}

.display-state.denied h2,
.display-state.expired h2 {
  color: var(--error);
}

@media (min-width: 48rem) {
  .display-grid {
    flex-direction: row;
    align-items: flex-start;
  }

  .qr-box {
    flex: 0 0 18rem;
  }
}

@media (min-width: 40rem) {
  main {
    padding-top: 3rem;
  }

  .actions {
    flex-direction: row-reverse;
  }

  .actions button {
    flex: 1;
  }

  header.brand {
    padding-top: 1.5rem;
  }
}
)css";

}  // namespace

http::Response handleStylesheet(Services&, const http::Request& request) {
  // textResponse also sets X-Content-Type-Options: nosniff. The type and caching are replaced
  // because the stylesheet is public and the same for everyone.
  http::Response response = http::textResponse(request, 200, kStylesheet);
  response.set(http::beast_http::field::content_type, "text/css; charset=utf-8");
  response.set(http::beast_http::field::cache_control, "public, max-age=3600");
  return response;
}

}  // namespace devauth::web
