#pragma once

// The catalogue of every message the verification pages and the display page show, in each
// supported language, and the choice of language from the Accept-Language header.

#include <fmt/format.h>

#include <cstddef>
#include <string>
#include <string_view>

namespace devauth::web {

enum class Language { English, German };

inline constexpr Language kAllLanguages[] = {Language::English, Language::German};

// Identifiers of the catalogue's messages. A message with {} takes arguments in the order its
// comment gives; the pages escape the text and the arguments.
enum class MessageId {
  DefaultProductName,
  CodeTitle,
  CodeIntro,
  CodePrefilledIntro,
  CodeLabel,
  CodeHint,
  ContinueButton,
  SignInTitle,
  SignInIntro,  // {}: the user code
  UsernameLabel,
  PasswordLabel,
  SignInButton,
  BadCredentials,
  ConsentTitle,
  ConsentSummary,  // {}: the client name
  ConsentCompare,
  DetailApplication,
  DetailRequested,
  DetailDevice,
  DetailRequestedFrom,
  DeviceNotDescribed,
  AddressUnknown,
  AddressSameNetwork,
  AddressOtherNetwork,  // {}: the browser's own address
  DetailSignedInAs,
  PermissionsHeading,
  NoScopes,
  ConsentWarning,
  ApproveButton,
  DenyButton,
  ScopeOpenid,
  ScopeProfile,
  ScopeEmail,
  ScopeOfflineAccess,
  ScopeRead,
  ScopeWrite,
  ScopeOther,  // {}: the scope name
  TimeJustNow,
  TimeOneMinuteAgo,
  TimeMinutesAgo,  // {}: the number of minutes
  ApprovedTitle,
  ApprovedText,
  DeniedTitle,
  DeniedText,
  CodeRejected,
  CheckDigitMismatch,
  FormExpiredTitle,
  FormExpired,
  ErrorTitle,
  ServerFailure,
  FormUnreadable,
  SignInRequiredTitle,
  SignInRequired,
  MalformedDecision,
  TooManyAttemptsTitle,
  TooManyAttemptsOneMinute,
  TooManyAttemptsMinutes,  // {}: the number of minutes
  StartOver,
  DisplayTitle,
  DisplayInstructions,  // {}: the verification URI
  DisplayQrLabel,
  DisplayExpiresIn,  // {}: the remaining time as m:ss
  DisplayWaiting,
  DisplayRefreshNote,
  DisplayCheckNow,
  DisplayApprovedTitle,
  DisplayApprovedText,
  DisplayDeniedTitle,
  DisplayDeniedText,
  DisplayExpiredTitle,
  DisplayExpiredText,
  DisplayConnectionLost,
  DisplayStartAgain,
  DisplayUnavailableTitle,
  DisplayUnavailable,
  Count,  // the number of messages, not a message
};

inline constexpr std::size_t kMessageCount = static_cast<std::size_t>(MessageId::Count);

// Returns the text of `id` in `language`, or "" when the catalogue lacks it (a test checks
// that it lacks none).
std::string_view messageText(Language language, MessageId id);

// The BCP 47 tag of `language` for the lang attribute: "en" or "de".
std::string_view languageTag(Language language);

// Chooses the language for an Accept-Language header value (RFC 9110 §12.5.4). The supported
// language with the highest q-value wins, and an earlier range wins a tie. Ranges match on
// their primary subtag, so "de-AT" is German. A range with q=0 never chooses its language, and
// "*" and a missing, empty or unmatched header choose English.
Language chooseLanguage(std::string_view accept_language);

// The messages of one language.
class Messages {
 public:
  explicit Messages(Language language) : language_(language) {}

  Language language() const { return language_; }
  std::string_view tag() const { return languageTag(language_); }
  std::string_view operator()(MessageId id) const { return messageText(language_, id); }

  // The text of `id` with its {} replaced by `args`, unescaped.
  template <typename... Args>
  std::string format(MessageId id, const Args&... args) const {
    return fmt::format(fmt::runtime((*this)(id)), args...);
  }

 private:
  Language language_;
};

}  // namespace devauth::web
