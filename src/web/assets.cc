#include "web/assets.h"

#include <cmath>

#include "http/response.h"

namespace devauth::web {
namespace {

using http::beast_http::field;

// The script is served from this origin because the Content-Security-Policy allows no inline
// script. It only enhances: the code form and the display page work without it.
constexpr std::string_view kScript = R"js('use strict';

(() => {
  // The longest code of any profile: 15 digits, or 12 letters.
  const MAX_LENGTH = 15;

  // Letters codes are shown in groups of 4 (XXXX-XXXX), digits codes in groups of 3
  // (123-456-789).
  function groupLength(characters) {
    return /^[0-9]+$/.test(characters) ? 3 : 4;
  }

  // Upper-cases the code, drops separators and inserts the dashes as the server shows the code.
  // The server normalizes the same way, so this is cosmetic.
  function formatCode(value) {
    const characters = value.toUpperCase().replace(/[^A-Z0-9]/g, '').slice(0, MAX_LENGTH);
    const group = groupLength(characters);
    const groups = [];
    for (let i = 0; i < characters.length; i += group) {
      groups.push(characters.slice(i, i + group));
    }
    return groups.join('-');
  }

  function enhanceCodeInput(input) {
    input.addEventListener('input', () => {
      const caret = input.selectionStart ?? input.value.length;
      const kept = input.value.slice(0, caret).toUpperCase().replace(/[^A-Z0-9]/g, '').length;
      const formatted = formatCode(input.value);
      if (formatted === input.value) return;
      input.value = formatted;
      const group = groupLength(formatted.replace(/-/g, ''));
      const position = kept > 0 ? kept + Math.floor((kept - 1) / group) : 0;
      input.setSelectionRange(position, position);
    });
  }

  function formatRemaining(seconds) {
    return `${Math.floor(seconds / 60)}:${String(seconds % 60).padStart(2, '0')}`;
  }

  // The display page polls the token endpoint as a device does (RFC 8628 section 3.4), at the
  // advertised interval, adding 5 seconds on each slow_down (section 3.5). A token it receives
  // is discarded: the page only shows that the flow was approved.
  function runDisplay(main) {
    const deviceCode = main.dataset.deviceCode;
    if (!deviceCode) return;
    let interval = Number(main.dataset.interval) * 1000;
    const deadline = Date.now() + Number(main.dataset.expiresIn) * 1000;
    const countdown = main.querySelector('[data-countdown]');
    const connectionLost = main.querySelector('[data-connection-lost]');
    let finished = false;

    const show = (state) => {
      finished = true;
      for (const section of main.querySelectorAll('[data-state]')) {
        section.hidden = section.dataset.state !== state;
      }
      connectionLost.hidden = true;
      document.body.dataset.displayState = state;
      const shown = main.querySelector(`[data-state="${state}"]`);
      main.querySelector('[data-announce]').textContent = shown.innerText.replace(/\s+/g, ' ');
    };

    const tick = () => {
      if (finished) return;
      const left = Math.max(0, Math.round((deadline - Date.now()) / 1000));
      countdown.textContent = formatRemaining(left);
      if (left === 0) {
        show('expired');
        return;
      }
      setTimeout(tick, 1000);
    };

    const poll = async () => {
      if (finished) return;
      try {
        const response = await fetch('/oauth/device/token', {
          method: 'POST',
          headers: { 'content-type': 'application/x-www-form-urlencoded' },
          body: new URLSearchParams({
            grant_type: 'urn:ietf:params:oauth:grant-type:device_code',
            device_code: deviceCode,
            client_id: main.dataset.clientId,
          }),
          cache: 'no-store',
          credentials: 'omit',
        });
        const body = await response.json();
        connectionLost.hidden = true;
        if (response.ok) {
          show('approved');
          return;
        }
        if (body.error === 'slow_down') interval += 5000;
        if (body.error === 'access_denied') {
          show('denied');
          return;
        }
        if (body.error === 'expired_token') {
          show('expired');
          return;
        }
        if (body.error === 'invalid_grant') {
          // Another tab redeemed the code: the server's page shows the outcome.
          window.location.reload();
          return;
        }
      } catch {
        connectionLost.hidden = false;
      }
      setTimeout(poll, interval);
    };

    for (const element of main.querySelectorAll('[data-without-script]')) element.hidden = true;
    tick();
    setTimeout(poll, interval);
  }

  const start = () => {
    const input = document.querySelector('input.code');
    if (input) enhanceCodeInput(input);
    if (document.body.dataset.page === 'display') runDisplay(document.querySelector('main'));
  };
  if (document.readyState === 'loading') {
    document.addEventListener('DOMContentLoaded', start);
  } else {
    start();
  }
})();
)js";

http::Response publicAsset(const http::Request& request, std::string_view content_type,
                           std::string_view body) {
  // textResponse also sets X-Content-Type-Options: nosniff. The type and caching are replaced
  // because the file is public and the same for everyone.
  http::Response response = http::textResponse(request, 200, body);
  response.set(field::content_type, content_type);
  response.set(field::cache_control, "public, max-age=3600");
  return response;
}

http::Response notFound(const http::Request& request) {
  return http::textResponse(request, 404, "Not Found\n");
}

// Relative luminance of an sRGB channel given as two hex digits (WCAG 2.1, "relative
// luminance").
double channelLuminance(std::string_view hex) {
  const double value = std::stoi(std::string(hex), nullptr, 16) / 255.0;
  return value <= 0.04045 ? value / 12.92 : std::pow((value + 0.055) / 1.055, 2.4);
}

double relativeLuminance(std::string_view color) {
  return 0.2126 * channelLuminance(color.substr(1, 2)) +
         0.7152 * channelLuminance(color.substr(3, 2)) +
         0.0722 * channelLuminance(color.substr(5, 2));
}

double contrastRatio(double a, double b) {
  return (std::max(a, b) + 0.05) / (std::min(a, b) + 0.05);
}

}  // namespace

bool isHexColor(std::string_view color) {
  if (color.size() != 7 || color[0] != '#') {
    return false;
  }
  for (const char c : color.substr(1)) {
    const bool hex = (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
    if (!hex) {
      return false;
    }
  }
  return true;
}

std::string_view textColorOn(std::string_view color) {
  constexpr std::string_view kDark = "#1b1b1f";
  constexpr std::string_view kLight = "#ffffff";
  const double background = relativeLuminance(color);
  return contrastRatio(background, relativeLuminance(kDark)) >
                 contrastRatio(background, relativeLuminance(kLight))
             ? kDark
             : kLight;
}

http::Response handleScript(Services&, const http::Request& request) {
  return publicAsset(request, "text/javascript; charset=utf-8", kScript);
}

http::Response handleBrandStylesheet(Services& services, const http::Request& request) {
  const std::string& color = services.config.branding.accent_color;
  if (!isHexColor(color)) {
    return notFound(request);
  }
  // Buttons and the header rule take the brand colour in both colour schemes. Links keep the
  // built-in colours, because those meet the contrast minimum on both backgrounds.
  const std::string css = ":root {\n  --accent: " + color +
                          ";\n  --accent-text: " + std::string(textColorOn(color)) + ";\n}\n";
  return publicAsset(request, "text/css; charset=utf-8", css);
}

http::Response handleLogo(Services& services, const http::Request& request) {
  const std::string& logo = services.config.branding.logo_svg;
  if (logo.empty()) {
    return notFound(request);
  }
  http::Response response = publicAsset(request, "image/svg+xml", logo);
  // An SVG opened directly runs its scripts in this origin; the sandbox stops that.
  response.set("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'; sandbox");
  return response;
}

}  // namespace devauth::web
