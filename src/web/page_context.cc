#include "web/page_context.h"

#include "http/response.h"

namespace devauth::web {

PageContext makePageContext(const Services& services, const http::Request& request) {
  const auto header = request.message.find(http::beast_http::field::accept_language);
  const std::string_view accept_language =
      header == request.message.end() ? std::string_view() : std::string_view(header->value());
  return PageContext{Messages(chooseLanguage(accept_language)), services.config.branding};
}

http::Response pageResponse(const http::Request& request, const PageContext& context,
                            unsigned status, std::string body) {
  http::Response response = http::htmlResponse(request, status, std::move(body));
  response.set(http::beast_http::field::content_language, context.messages.tag());
  response.set(http::beast_http::field::vary, "Accept-Language");
  return response;
}

}  // namespace devauth::web
