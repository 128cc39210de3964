#pragma once

// Escaping of text placed in HTML or XML (the verification pages, the SSML form of a user code).

#include <string>
#include <string_view>

namespace devauth {

// Escapes &, <, >, " and ' so that `text` is safe in element content and in quoted attribute
// values of HTML and XML. The apostrophe becomes &#39;, which both languages accept (HTML has
// no &apos; before HTML5).
std::string escapeMarkup(std::string_view text);

}  // namespace devauth
