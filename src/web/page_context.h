#pragma once

// The language and branding of the page returned for a request.

#include <string>

#include "http/message.h"
#include "server/services.h"
#include "web/html.h"

namespace devauth::web {

// The context for pages returned for `request`: the language chosen from its Accept-Language
// header and the configured branding.
PageContext makePageContext(const Services& services, const http::Request& request);

// An HTML page response (http::htmlResponse) with Content-Language and Vary: Accept-Language,
// since the language of the page depends on that header.
http::Response pageResponse(const http::Request& request, const PageContext& context,
                            unsigned status, std::string body);

}  // namespace devauth::web
