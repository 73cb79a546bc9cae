# config/osbd.schema.json, the JSON Schema of osbd.yaml: compiled into osbd_core as
# osbd::config::schema_text() (a source generated at configure time, redone when the schema
# changes), so that an installed osbd needs no extra file, and installed as
# share/osbd/osbd.schema.json for editors and packagers.
set(OSBD_CONFIG_SCHEMA_FILE ${PROJECT_SOURCE_DIR}/config/osbd.schema.json)
set_property(DIRECTORY APPEND PROPERTY CMAKE_CONFIGURE_DEPENDS ${OSBD_CONFIG_SCHEMA_FILE})
file(READ ${OSBD_CONFIG_SCHEMA_FILE} OSBD_CONFIG_SCHEMA_JSON)
configure_file(${CMAKE_CURRENT_LIST_DIR}/config_schema.cpp.in
               ${CMAKE_CURRENT_BINARY_DIR}/generated/config_schema.cpp @ONLY)
install(FILES ${OSBD_CONFIG_SCHEMA_FILE} DESTINATION ${CMAKE_INSTALL_DATADIR}/osbd COMPONENT broker)
