# core/ui/*.{html,js,css,svg}, the operator console's pages, script, style sheet and icon:
# compiled into osbd_core as the table of osbd::api::find_ui_asset() (a source generated at
# configure time, redone when a file of core/ui/ changes or one is added), so that an installed
# osbd serves /admin/ui/ without any file.
# Each asset is a raw string literal with its content type and a strong ETag (the first 128 bits
# of the SHA-256 of its bytes, quoted).
set(OSBD_UI_DIR ${PROJECT_SOURCE_DIR}/core/ui)
file(GLOB osbd_ui_files CONFIGURE_DEPENDS LIST_DIRECTORIES false ${OSBD_UI_DIR}/*.html
     ${OSBD_UI_DIR}/*.js ${OSBD_UI_DIR}/*.css ${OSBD_UI_DIR}/*.svg)
list(SORT osbd_ui_files)
set(OSBD_UI_ASSET_ENTRIES "")
foreach(file IN LISTS osbd_ui_files)
  get_filename_component(name ${file} NAME)
  get_filename_component(extension ${file} LAST_EXT)
  if(extension STREQUAL ".html")
    set(type "text/html; charset=utf-8")
  elseif(extension STREQUAL ".js")
    set(type "text/javascript; charset=utf-8")
  elseif(extension STREQUAL ".css")
    set(type "text/css; charset=utf-8")
  else()
    set(type "image/svg+xml")
  endif()
  set_property(DIRECTORY APPEND PROPERTY CMAKE_CONFIGURE_DEPENDS ${file})
  file(READ ${file} body)
  string(LENGTH "${body}" length)
  # C++ compilers need not support longer literals (clang -Wpedantic warns past 65536).
  if(length GREATER 65000)
    message(FATAL_ERROR "core/ui/${name}: ${length} bytes, more than 65000: split it")
  endif()
  string(FIND "${body}" ")osbd_ui\"" delimiter)
  if(NOT delimiter EQUAL -1)
    message(FATAL_ERROR "core/ui/${name} contains the raw string delimiter )osbd_ui\"")
  endif()
  string(SHA256 hash "${body}")
  string(SUBSTRING ${hash} 0 32 hash)
  string(APPEND OSBD_UI_ASSET_ENTRIES
         "    {\"${name}\", \"${type}\", R\"osbd_ui(${body})osbd_ui\", \"\\\"${hash}\\\"\"},\n")
endforeach()
if(NOT osbd_ui_files)
  message(FATAL_ERROR "core/ui/ holds no file: the console has nothing to serve")
endif()
configure_file(${CMAKE_CURRENT_LIST_DIR}/console_assets.cpp.in
               ${CMAKE_CURRENT_BINARY_DIR}/generated/console_assets.cpp @ONLY)
