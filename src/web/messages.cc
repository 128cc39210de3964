#include "web/messages.h"

#include <array>
#include <charconv>
#include <optional>
#include <utility>

namespace devauth::web {
namespace {

struct Entry {
  MessageId id;
  std::string_view text;
};

using M = MessageId;

constexpr Entry kEnglish[] = {
    {M::DefaultProductName, "Device sign-in"},
    {M::CodeTitle, "Connect a device"},
    {M::CodeIntro, "Enter the code shown on your device."},
    {M::CodePrefilledIntro,
     "Check that this code matches the one shown on your device, then select Continue."},
    {M::CodeLabel, "Code"},
    {M::CodeHint, "The code your device shows, for example BCDF-GHJK. Dashes are optional."},
    {M::ContinueButton, "Continue"},
    {M::SignInTitle, "Sign in"},
    {M::SignInIntro, "Sign in to continue with code {}."},
    {M::UsernameLabel, "Username"},
    {M::PasswordLabel, "Password"},
    {M::SignInButton, "Sign in"},
    {M::BadCredentials, "Incorrect username or password."},
    {M::ConsentTitle, "Allow access?"},
    {M::ConsentSummary, "{} wants to access your account from a device."},
    {M::ConsentCompare, "Check that this code matches the one on your device:"},
    {M::DetailApplication, "Application"},
    {M::DetailRequested, "Requested"},
    {M::DetailDevice, "Device, as it describes itself"},
    {M::DetailRequestedFrom, "Requested from"},
    {M::DeviceNotDescribed, "No description"},
    {M::AddressUnknown, "Unknown address"},
    {M::AddressSameNetwork, "the same network as this browser"},
    {M::AddressOtherNetwork, "a different network from this browser at {}"},
    {M::DetailSignedInAs, "Signed in as"},
    {M::PermissionsHeading, "It will be able to"},
    {M::NoScopes, "No specific permissions: the application only learns that you approved."},
    {M::ConsentWarning,
     "Approve only if you started this on a device you have with you. If you did not, select "
     "Deny."},
    {M::ApproveButton, "Approve"},
    {M::DenyButton, "Deny"},
    {M::ScopeOpenid, "Confirm who you are"},
    {M::ScopeProfile, "See your basic profile, such as your name"},
    {M::ScopeEmail, "See your email address"},
    {M::ScopeOfflineAccess, "Stay signed in until you sign out on the device"},
    {M::ScopeRead, "Read your data"},
    {M::ScopeWrite, "Change your data"},
    {M::ScopeOther, "Use the permission “{}”"},
    {M::TimeJustNow, "Just now"},
    {M::TimeOneMinuteAgo, "1 minute ago"},
    {M::TimeMinutesAgo, "{} minutes ago"},
    {M::ApprovedTitle, "Device connected"},
    {M::ApprovedText, "Done. You can return to your device."},
    {M::DeniedTitle, "Request denied"},
    {M::DeniedText, "Request denied. You can close this page."},
    {M::CodeRejected,
     "That code didn't work. Check the code on your device and try again. If it has expired, "
     "start again on the device."},
    {M::CheckDigitMismatch,
     "Check the code: a digit is mistyped. Compare each digit with the code on your device."},
    {M::FormExpiredTitle, "Form expired"},
    {M::FormExpired, "This form expired. Reload the page and try again."},
    {M::ErrorTitle, "Something went wrong"},
    {M::ServerFailure, "The server could not complete the request. Try again in a moment."},
    {M::FormUnreadable, "The form could not be read. Reload the page and try again."},
    {M::SignInRequiredTitle, "Sign in required"},
    {M::SignInRequired, "Your sign-in has ended. Start over and sign in again to continue."},
    {M::MalformedDecision, "Choose Approve or Deny. Reload the page and try again."},
    {M::TooManyAttemptsTitle, "Too many attempts"},
    {M::TooManyAttemptsOneMinute,
     "Too many codes were entered that didn't work. Wait 1 minute and try again."},
    {M::TooManyAttemptsMinutes,
     "Too many codes were entered that didn't work. Wait {} minutes and try again."},
    {M::StartOver, "Start over"},
    {M::DisplayTitle, "Sign in with your phone"},
    {M::DisplayInstructions, "Scan the QR code, or open {} on your phone and enter this code:"},
    {M::DisplayQrLabel, "QR code that opens the sign-in page with this code filled in"},
    {M::DisplayExpiresIn, "The code expires in {}."},
    {M::DisplayWaiting, "Waiting for approval…"},
    {M::DisplayRefreshNote, "This page checks for the approval by itself."},
    {M::DisplayCheckNow, "Check now"},
    {M::DisplayApprovedTitle, "Approved"},
    {M::DisplayApprovedText, "This device is now signed in."},
    {M::DisplayDeniedTitle, "Denied"},
    {M::DisplayDeniedText, "The request was denied on the phone. Nothing was signed in."},
    {M::DisplayExpiredTitle, "Code expired"},
    {M::DisplayExpiredText, "The code expired before it was approved."},
    {M::DisplayConnectionLost, "Cannot reach the server. Trying again…"},
    {M::DisplayStartAgain, "Start again"},
    {M::DisplayUnavailableTitle, "Display unavailable"},
    {M::DisplayUnavailable,
     "This display cannot start a sign-in right now. Try again in a moment."},
};

constexpr Entry kGerman[] = {
    {M::DefaultProductName, "Geräteanmeldung"},
    {M::CodeTitle, "Gerät verbinden"},
    {M::CodeIntro, "Geben Sie den Code ein, den Ihr Gerät anzeigt."},
    {M::CodePrefilledIntro,
     "Prüfen Sie, ob dieser Code mit dem auf Ihrem Gerät übereinstimmt, und wählen Sie dann "
     "„Weiter“."},
    {M::CodeLabel, "Code"},
    {M::CodeHint, "Der Code auf Ihrem Gerät, zum Beispiel BCDF-GHJK. Bindestriche sind optional."},
    {M::ContinueButton, "Weiter"},
    {M::SignInTitle, "Anmelden"},
    {M::SignInIntro, "Melden Sie sich an, um mit dem Code {} fortzufahren."},
    {M::UsernameLabel, "Benutzername"},
    {M::PasswordLabel, "Passwort"},
    {M::SignInButton, "Anmelden"},
    {M::BadCredentials, "Benutzername oder Passwort ist falsch."},
    {M::ConsentTitle, "Zugriff erlauben?"},
    {M::ConsentSummary, "{} möchte von einem Gerät aus auf Ihr Konto zugreifen."},
    {M::ConsentCompare, "Prüfen Sie, ob dieser Code mit dem auf Ihrem Gerät übereinstimmt:"},
    {M::DetailApplication, "Anwendung"},
    {M::DetailRequested, "Angefragt"},
    {M::DetailDevice, "Gerät, nach eigener Angabe"},
    {M::DetailRequestedFrom, "Angefragt von"},
    {M::DeviceNotDescribed, "Keine Angabe"},
    {M::AddressUnknown, "Unbekannte Adresse"},
    {M::AddressSameNetwork, "dasselbe Netz wie dieser Browser"},
    {M::AddressOtherNetwork, "ein anderes Netz als dieser Browser unter {}"},
    {M::DetailSignedInAs, "Angemeldet als"},
    {M::PermissionsHeading, "Die Anwendung darf dann"},
    {M::NoScopes,
     "Keine besonderen Berechtigungen: Die Anwendung erfährt nur, dass Sie zugestimmt haben."},
    {M::ConsentWarning,
     "Erlauben Sie den Zugriff nur, wenn Sie dies selbst auf einem Gerät in Ihrer Nähe "
     "gestartet haben. Andernfalls wählen Sie „Ablehnen“."},
    {M::ApproveButton, "Erlauben"},
    {M::DenyButton, "Ablehnen"},
    {M::ScopeOpenid, "bestätigen, wer Sie sind"},
    {M::ScopeProfile, "Ihr Basisprofil sehen, etwa Ihren Namen"},
    {M::ScopeEmail, "Ihre E-Mail-Adresse sehen"},
    {M::ScopeOfflineAccess, "angemeldet bleiben, bis Sie sich auf dem Gerät abmelden"},
    {M::ScopeRead, "Ihre Daten lesen"},
    {M::ScopeWrite, "Ihre Daten ändern"},
    {M::ScopeOther, "die Berechtigung „{}“ nutzen"},
    {M::TimeJustNow, "Gerade eben"},
    {M::TimeOneMinuteAgo, "Vor 1 Minute"},
    {M::TimeMinutesAgo, "Vor {} Minuten"},
    {M::ApprovedTitle, "Gerät verbunden"},
    {M::ApprovedText, "Fertig. Sie können zu Ihrem Gerät zurückkehren."},
    {M::DeniedTitle, "Anfrage abgelehnt"},
    {M::DeniedText, "Die Anfrage wurde abgelehnt. Sie können diese Seite schließen."},
    {M::CodeRejected,
     "Dieser Code hat nicht funktioniert. Prüfen Sie den Code auf Ihrem Gerät und versuchen Sie "
     "es erneut. Ist er abgelaufen, beginnen Sie auf dem Gerät von vorn."},
    {M::CheckDigitMismatch,
     "Prüfen Sie den Code: Eine Ziffer ist falsch eingegeben. Vergleichen Sie jede Ziffer mit "
     "dem Code auf Ihrem Gerät."},
    {M::FormExpiredTitle, "Formular abgelaufen"},
    {M::FormExpired,
     "Dieses Formular ist abgelaufen. Laden Sie die Seite neu und versuchen Sie "
     "es erneut."},
    {M::ErrorTitle, "Etwas ist schiefgelaufen"},
    {M::ServerFailure,
     "Der Server konnte die Anfrage nicht ausführen. Versuchen Sie es gleich noch einmal."},
    {M::FormUnreadable,
     "Das Formular konnte nicht gelesen werden. Laden Sie die Seite neu und versuchen Sie es "
     "erneut."},
    {M::SignInRequiredTitle, "Anmeldung erforderlich"},
    {M::SignInRequired,
     "Ihre Anmeldung ist abgelaufen. Beginnen Sie von vorn und melden Sie sich erneut an."},
    {M::MalformedDecision,
     "Wählen Sie „Erlauben“ oder „Ablehnen“. Laden Sie die Seite neu und versuchen Sie es "
     "erneut."},
    {M::TooManyAttemptsTitle, "Zu viele Versuche"},
    {M::TooManyAttemptsOneMinute,
     "Es wurden zu viele ungültige Codes eingegeben. Warten Sie 1 Minute und versuchen Sie es "
     "dann erneut."},
    {M::TooManyAttemptsMinutes,
     "Es wurden zu viele ungültige Codes eingegeben. Warten Sie {} Minuten und versuchen Sie es "
     "dann erneut."},
    {M::StartOver, "Von vorn beginnen"},
    {M::DisplayTitle, "Mit dem Smartphone anmelden"},
    {M::DisplayInstructions,
     "Scannen Sie den QR-Code oder öffnen Sie {} auf Ihrem Smartphone und geben Sie diesen Code "
     "ein:"},
    {M::DisplayQrLabel, "QR-Code, der die Anmeldeseite mit diesem Code öffnet"},
    {M::DisplayExpiresIn, "Der Code läuft in {} ab."},
    {M::DisplayWaiting, "Warten auf Freigabe …"},
    {M::DisplayRefreshNote, "Diese Seite prüft die Freigabe von selbst."},
    {M::DisplayCheckNow, "Jetzt prüfen"},
    {M::DisplayApprovedTitle, "Freigegeben"},
    {M::DisplayApprovedText, "Dieses Gerät ist jetzt angemeldet."},
    {M::DisplayDeniedTitle, "Abgelehnt"},
    {M::DisplayDeniedText,
     "Die Anfrage wurde auf dem Smartphone abgelehnt. Es wurde nichts angemeldet."},
    {M::DisplayExpiredTitle, "Code abgelaufen"},
    {M::DisplayExpiredText, "Der Code ist abgelaufen, bevor er freigegeben wurde."},
    {M::DisplayConnectionLost, "Der Server ist nicht erreichbar. Neuer Versuch läuft …"},
    {M::DisplayStartAgain, "Neu starten"},
    {M::DisplayUnavailableTitle, "Anzeige nicht verfügbar"},
    {M::DisplayUnavailable,
     "Diese Anzeige kann gerade keine Anmeldung starten. Versuchen Sie es gleich noch einmal."},
};

using Table = std::array<std::string_view, kMessageCount>;

template <std::size_t N>
constexpr Table makeTable(const Entry (&entries)[N]) {
  Table table{};
  for (const Entry& entry : entries) {
    table[static_cast<std::size_t>(entry.id)] = entry.text;
  }
  return table;
}

constexpr Table kEnglishTable = makeTable(kEnglish);
constexpr Table kGermanTable = makeTable(kGerman);

bool equalsIgnoringCase(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) {
    return false;
  }
  for (std::size_t i = 0; i < a.size(); ++i) {
    const auto lower = [](char c) {
      return (c >= 'A' && c <= 'Z') ? static_cast<char>(c + 32) : c;
    };
    if (lower(a[i]) != lower(b[i])) {
      return false;
    }
  }
  return true;
}

std::string_view trim(std::string_view text) {
  while (!text.empty() && (text.front() == ' ' || text.front() == '\t')) {
    text.remove_prefix(1);
  }
  while (!text.empty() && (text.back() == ' ' || text.back() == '\t')) {
    text.remove_suffix(1);
  }
  return text;
}

// The q-value of one range's parameters in thousandths (RFC 9110 §12.4.2), or nullopt when it
// is malformed. Without a q parameter the weight is 1.
std::optional<int> parseWeight(std::string_view parameters) {
  int weight = 1000;
  while (!parameters.empty()) {
    const std::size_t semicolon = parameters.find(';');
    const std::string_view parameter = trim(parameters.substr(0, semicolon));
    parameters =
        semicolon == std::string_view::npos ? std::string_view() : parameters.substr(semicolon + 1);
    if (parameter.size() < 2 || (parameter[0] != 'q' && parameter[0] != 'Q') ||
        parameter[1] != '=') {
      continue;
    }
    const std::string_view value = parameter.substr(2);
    if (value.empty() || (value[0] != '0' && value[0] != '1') || value.size() > 5 ||
        (value.size() > 1 && value[1] != '.')) {
      return std::nullopt;
    }
    int thousandths = 0;
    int scale = 1000;
    for (std::size_t i = 2; i < value.size(); ++i) {
      if (value[i] < '0' || value[i] > '9') {
        return std::nullopt;
      }
      scale /= 10;
      thousandths += (value[i] - '0') * scale;
    }
    // qvalue = ( "0" [ "." 0*3DIGIT ] ) / ( "1" [ "." 0*3("0") ] )
    if (value[0] == '1' && thousandths != 0) {
      return std::nullopt;
    }
    weight = value[0] == '1' ? 1000 : thousandths;
  }
  return weight;
}

std::optional<Language> languageOfRange(std::string_view range) {
  const std::string_view primary = range.substr(0, range.find('-'));
  if (equalsIgnoringCase(primary, "en") || primary == "*") {
    return Language::English;
  }
  if (equalsIgnoringCase(primary, "de")) {
    return Language::German;
  }
  return std::nullopt;
}

}  // namespace

std::string_view messageText(Language language, MessageId id) {
  const auto index = static_cast<std::size_t>(id);
  if (index >= kMessageCount) {
    return {};
  }
  return language == Language::German ? kGermanTable[index] : kEnglishTable[index];
}

std::string_view languageTag(Language language) {
  return language == Language::German ? "de" : "en";
}

Language chooseLanguage(std::string_view accept_language) {
  std::optional<Language> best;
  int best_weight = 0;
  while (!accept_language.empty()) {
    const std::size_t comma = accept_language.find(',');
    const std::string_view item = accept_language.substr(0, comma);
    accept_language =
        comma == std::string_view::npos ? std::string_view() : accept_language.substr(comma + 1);

    const std::size_t semicolon = item.find(';');
    const std::string_view range = trim(item.substr(0, semicolon));
    const std::optional<int> weight =
        semicolon == std::string_view::npos ? 1000 : parseWeight(item.substr(semicolon + 1));
    const std::optional<Language> language = languageOfRange(range);
    // A strictly higher weight is needed to win, so the earlier range wins a tie.
    if (language && weight && *weight > best_weight) {
      best = language;
      best_weight = *weight;
    }
  }
  return best.value_or(Language::English);
}

}  // namespace devauth::web
