#pragma once

#include "http/router.h"
#include "server/services.h"

namespace devauth {

// Registers every route of the server. `services` must outlive the router.
void registerRoutes(http::Router& router, Services& services);

}  // namespace devauth
