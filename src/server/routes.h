#pragma once

#include "http/router.h"
#include "server/services.h"

namespace devauth {

// Registers every route of the server. Each request runs with the Services that `current`
// holds when it arrives; `current` and every Services it holds must outlive the router. With
// `metrics` set, GET /metrics is served here too.
void registerRoutes(http::Router& router, CurrentServices& current, bool metrics = true);

// Registers only GET /metrics, for a listener of its own.
void registerMetricsRoute(http::Router& router, CurrentServices& current);

}  // namespace devauth
