"""KCL MultiLangDaemon properties files (package data), for `nicelist worker`."""
