#include "web/html.h"

#include <fmt/format.h>

namespace devauth::web {

std::string_view productName(const PageContext& context) {
  const std::string& configured = context.branding.product_name;
  return configured.empty() ? context.messages(MessageId::DefaultProductName)
                            : std::string_view(configured);
}

std::string renderLayout(const PageContext& context, std::string_view title,
                         std::string_view content, const LayoutOptions& options) {
  const std::string escaped_title = escapeMarkup(title);
  const std::string product = escapeMarkup(productName(context));
  const std::string brand_stylesheet =
      context.branding.accent_color.empty()
          ? std::string()
          : fmt::format("<link rel=\"stylesheet\" href=\"{}\">\n", kBrandStylesheetPath);
  // The logo is decorative next to the product name, so its alt text is empty.
  const std::string logo =
      context.branding.logo_svg.empty()
          ? std::string()
          : fmt::format("<img class=\"logo\" src=\"{}\" alt=\"\" width=\"32\" height=\"32\">",
                        kLogoPath);
  return fmt::format(
      "<!doctype html>\n"
      "<html lang=\"{lang}\">\n"
      "<head>\n"
      "<meta charset=\"utf-8\">\n"
      "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
      "<meta name=\"color-scheme\" content=\"light dark\">\n"
      "<title>{title} - {product}</title>\n"
      "<link rel=\"icon\" href=\"data:,\">\n"
      "<link rel=\"stylesheet\" href=\"{stylesheet}\">\n"
      "{brand_stylesheet}"
      "<script src=\"{script}\" defer></script>\n"
      "{head}"
      "</head>\n"
      "<body data-page=\"{page}\">\n"
      "<header class=\"brand\">{logo}<span class=\"product\">{product}</span></header>\n"
      "<main{main_attributes}>\n"
      "<h1>{title}</h1>\n"
      "{content}"
      "</main>\n"
      "</body>\n"
      "</html>\n",
      fmt::arg("lang", context.messages.tag()), fmt::arg("title", escaped_title),
      fmt::arg("product", product), fmt::arg("stylesheet", kStylesheetPath),
      fmt::arg("brand_stylesheet", brand_stylesheet), fmt::arg("script", kScriptPath),
      fmt::arg("head", options.head), fmt::arg("page", escapeMarkup(options.page_name)),
      fmt::arg("logo", logo), fmt::arg("main_attributes", options.main_attributes),
      fmt::arg("content", content));
}

std::string hiddenInput(std::string_view name, std::string_view value) {
  return fmt::format("<input type=\"hidden\" name=\"{}\" value=\"{}\">\n", escapeMarkup(name),
                     escapeMarkup(value));
}

std::string alertParagraph(std::string_view message) {
  return fmt::format("<p class=\"error\" role=\"alert\" id=\"form-error\">{}</p>\n",
                     escapeMarkup(message));
}

}  // namespace devauth::web
