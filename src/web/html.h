#pragma once

// HTML building blocks of the verification pages. Every value interpolated into a page goes
// through escapeMarkup (core/markup.h). The pages carry no inline script or style, because the
// Content-Security- Policy sent with them allows scripts and styles only from this origin.

#include <string>
#include <string_view>

#include "core/markup.h"
#include "server/config.h"
#include "web/messages.h"

namespace devauth::web {

// Paths of the static files that every page links, served by the handlers in assets.cc.
inline constexpr std::string_view kStylesheetPath = "/device/style.css";
inline constexpr std::string_view kScriptPath = "/assets/device.js";
inline constexpr std::string_view kBrandStylesheetPath = "/assets/brand.css";
inline constexpr std::string_view kLogoPath = "/assets/logo.svg";

// The inputs every page needs besides its content: the messages of the chosen language and the
// configured branding.
struct PageContext {
  Messages messages;
  const Branding& branding;
};

// Optional parts of the layout.
struct LayoutOptions {
  // Extra elements for <head>, already escaped.
  std::string head;
  // The value of data-page on <body>, which tells the script which page it runs on.
  std::string_view page_name = "verification";
  // Extra attributes for <main>, already escaped, each with a leading space.
  std::string main_attributes;
};

// Wraps `content` (already-escaped HTML) in the page layout: doctype, the language of
// `context`, viewport, the stylesheets and script, a <header> with the product name and logo,
// a <main> landmark and an <h1> holding `title`, which is escaped here.
std::string renderLayout(const PageContext& context, std::string_view title,
                         std::string_view content, const LayoutOptions& options = {});

// An <input type="hidden">, name and value escaped.
std::string hiddenInput(std::string_view name, std::string_view value);

// A <p> announced to screen readers as an alert, for form errors; `message` is escaped.
std::string alertParagraph(std::string_view message);

// The product name of `context`: the configured one, or the catalogue's default.
std::string_view productName(const PageContext& context);

}  // namespace devauth::web
