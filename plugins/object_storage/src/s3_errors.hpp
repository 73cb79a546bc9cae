#pragma once

#include <string>
#include <string_view>

namespace osbd_object_storage {

/// The error an S3 or Admin Ops server put into a response body: S3 answers XML
/// (<Error><Code>NoSuchBucket</Code><Message>...</Message></Error>), RGW's Admin Ops API JSON
/// ({"Code": "NoSuchUser", ...}). Both fields are "" when the body has none.
struct ServerError {
  std::string code;     ///< e.g. "NoSuchBucket", "AccessDenied", "QuotaExceeded"
  std::string message;  ///< the server's text, often empty
};

/// Reads the error of body (XML or JSON); never throws. Text is unescaped (&amp; &lt; &gt;
/// &quot; &apos;) and cut to 200 characters.
ServerError parse_server_error(std::string_view body);

/// The text of the first <tag>...</tag> element of xml, unescaped ("" when absent).
std::string xml_element(std::string_view xml, std::string_view tag);

}  // namespace osbd_object_storage
