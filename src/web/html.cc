#include "web/html.h"

#include <fmt/format.h>

namespace devauth::web {

std::string escapeHtml(std::string_view text) {
  std::string escaped;
  escaped.reserve(text.size());
  for (const char c : text) {
    switch (c) {
      case '&':
        escaped += "&amp;";
        break;
      case '<':
        escaped += "&lt;";
        break;
      case '>':
        escaped += "&gt;";
        break;
      case '"':
        escaped += "&quot;";
        break;
      case '\'':
        escaped += "&#39;";
        break;
      default:
        escaped.push_back(c);
    }
  }
  return escaped;
}

std::string renderLayout(std::string_view title, std::string_view content) {
  const std::string escaped_title = escapeHtml(title);
  return fmt::format(
      "<!doctype html>\n"
      "<html lang=\"en\">\n"
      "<head>\n"
      "<meta charset=\"utf-8\">\n"
      "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
      "<meta name=\"color-scheme\" content=\"light dark\">\n"
      "<title>{0} - Device sign-in</title>\n"
      "<link rel=\"stylesheet\" href=\"{1}\">\n"
      "</head>\n"
      "<body>\n"
      "<main>\n"
      "<h1>{0}</h1>\n"
      "{2}"
      "</main>\n"
      "</body>\n"
      "</html>\n",
      escaped_title, kStylesheetPath, content);
}

std::string hiddenInput(std::string_view name, std::string_view value) {
  return fmt::format("<input type=\"hidden\" name=\"{}\" value=\"{}\">\n", escapeHtml(name),
                     escapeHtml(value));
}

std::string alertParagraph(std::string_view message) {
  return fmt::format("<p class=\"error\" role=\"alert\" id=\"form-error\">{}</p>\n",
                     escapeHtml(message));
}

}  // namespace devauth::web
