#pragma once

// HTML building blocks of the verification pages. Every value interpolated into a page goes
// through escapeHtml; the pages carry no inline script or style because the Content-Security-
// Policy sent with them forbids both.

#include <string>
#include <string_view>

namespace devauth::web {

// Path of the one stylesheet, served by handleStylesheet.
inline constexpr std::string_view kStylesheetPath = "/device/style.css";

// Escapes & < > " and ' so that `text` is safe in element content and in quoted attribute
// values.
std::string escapeHtml(std::string_view text);

// Wraps `content` (already-escaped HTML) in the page layout: doctype, language, viewport, the
// stylesheet link, a <main> landmark and an <h1> holding `title`, which is escaped here.
std::string renderLayout(std::string_view title, std::string_view content);

// An <input type="hidden">, name and value escaped.
std::string hiddenInput(std::string_view name, std::string_view value);

// A <p> announced to screen readers as an alert, for form errors; `message` is escaped.
std::string alertParagraph(std::string_view message);

}  // namespace devauth::web
