# SPDX-License-Identifier: Apache-2.0
# CPack: .deb and .rpm packages from the normal install rules.
#
#   oryx                oryxd, oryxctl, io, xconnect, vlan, bond and pdump plugins, webui, config,
#                       systemd unit, docs and man pages      (component runtime)
#   oryx-plugins-stack  the lwIP stack plugin (lwIP built in) (plugins_stack)
#   oryx-devel          SDK headers, CMake package, .pc file, the plugin test kit (devel)
#
# Dependencies are declared by package name. Build with `make package`
# (configures with prefix /usr; the RPM with libdir lib64).
set(CPACK_PACKAGE_NAME oryx)
set(CPACK_PACKAGE_VENDOR "Oryx project")
set(CPACK_PACKAGE_CONTACT "Oryx core team <oryx@example.org>")
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY "User-mode network acceleration appliance")
set(CPACK_PACKAGE_DESCRIPTION
    "Oryx runs a DPDK data plane as a graph of plugin stages (AF_XDP, memif, PCI\n ports, cross-connect, an lwIP TCP/IP stack) configured by appliance.toml,\n with a REST API, Prometheus metrics and a browser dashboard.")
set(CPACK_PACKAGE_VERSION ${PROJECT_VERSION})
set(CPACK_PACKAGE_HOMEPAGE_URL "https://example.org/oryx")
set(CPACK_RESOURCE_FILE_LICENSE ${CMAKE_SOURCE_DIR}/packaging/copyright)
set(CPACK_COMPONENTS_ALL runtime plugins_stack devel)
set(CPACK_STRIP_FILES ON)
set(summary_runtime "User-mode network acceleration appliance")
set(long_runtime "Oryx runs a DPDK data plane as a graph of stages loaded from plugins\n (AF_XDP, AF_PACKET, TAP, memif, ring, null and PCI ports; a cross-connect;\n 802.1Q VLAN sub-interfaces; link aggregation; packet capture), configured\n by /etc/oryx/appliance.toml, with a REST API, Prometheus metrics and a\n browser dashboard. This package holds oryxd, oryxctl, the io, xconnect,\n vlan, bond and pdump plugins, the dashboard and the systemd unit.")
set(summary_stack "Oryx TCP/IP stack plugin (lwIP)")
set(long_stack "The stack stage of the Oryx appliance: IPv4/IPv6, ARP, ICMP, TCP and\n UDP on lwIP attached to an Oryx port, with echo, discard and HTTP\n services and a live connection table.")
set(summary_devel "Oryx plugin SDK")
set(long_devel "Headers (oryx/abi.h, oryx/sdk.hpp), the CMake package Oryx::sdk and the\n oryx-sdk pkg-config file for building Oryx plugins out of tree, and the\n plugin test kit (oryx/testing.hpp, Oryx::testing, oryx_add_plugin_test).")
set(CPACK_COMPONENTS_GROUPING IGNORE)

# Removal scripts share one snippet that stops oryxd.
file(READ ${CMAKE_SOURCE_DIR}/packaging/stop-oryxd.sh ORYX_STOP_SNIPPET)
configure_file(${CMAKE_SOURCE_DIR}/packaging/deb/prerm.in ${CMAKE_BINARY_DIR}/packaging/deb/prerm
               @ONLY FILE_PERMISSIONS OWNER_READ OWNER_WRITE OWNER_EXECUTE GROUP_READ
               GROUP_EXECUTE WORLD_READ WORLD_EXECUTE)
configure_file(${CMAKE_SOURCE_DIR}/packaging/rpm/preun.in ${CMAKE_BINARY_DIR}/packaging/rpm/preun @ONLY)

# ---- .deb ----
set(CPACK_DEB_COMPONENT_INSTALL ON)
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)
set(CPACK_DEBIAN_PACKAGE_SECTION net)
set(CPACK_DEBIAN_PACKAGE_PRIORITY optional)
set(CPACK_DEBIAN_RUNTIME_PACKAGE_NAME oryx)
set(CPACK_DEBIAN_PLUGINS_STACK_PACKAGE_NAME oryx-plugins-stack)
set(CPACK_DEBIAN_DEVEL_PACKAGE_NAME oryx-devel)
# CPack 3.25 takes the Debian synopsis from CPACK_PACKAGE_DESCRIPTION_SUMMARY
# for every component; the component text becomes the extended description.
set(CPACK_COMPONENT_RUNTIME_DESCRIPTION "${long_runtime}")
set(CPACK_COMPONENT_PLUGINS_STACK_DESCRIPTION "${summary_stack}.\n${long_stack}")
set(CPACK_COMPONENT_DEVEL_DESCRIPTION "${summary_devel}.\n${long_devel}")
set(CPACK_DEBIAN_DEVEL_PACKAGE_SECTION devel)
# Shared libraries are found by dpkg-shlibdeps; the DPDK drivers the io
# plugin opens at run time are not linked, so they are named here.
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)
set(CPACK_DEBIAN_RUNTIME_PACKAGE_DEPENDS
    "librte-net-af-xdp23, librte-net-af-packet23, librte-net-memif23, librte-net-ring23, librte-net-null23, librte-net-tap23, librte-mempool-ring23, libxdp1")
# libssl-dev: CivetWeb's HTTPS loads libcrypto.so by that (development) name.
set(CPACK_DEBIAN_RUNTIME_PACKAGE_RECOMMENDS "iproute2, libssl-dev")
set(CPACK_DEBIAN_PLUGINS_STACK_PACKAGE_DEPENDS "oryx (= ${PROJECT_VERSION})")
set(CPACK_DEBIAN_DEVEL_PACKAGE_DEPENDS "oryx (= ${PROJECT_VERSION}), libdpdk-dev, cmake, pkg-config")
# oryx_add_plugin_test() (the plugin test kit) builds Catch2 programs.
set(CPACK_DEBIAN_DEVEL_PACKAGE_RECOMMENDS "catch2")
set(CPACK_DEBIAN_RUNTIME_PACKAGE_CONTROL_EXTRA
    ${CMAKE_SOURCE_DIR}/packaging/deb/conffiles
    ${CMAKE_SOURCE_DIR}/packaging/deb/postinst
    ${CMAKE_BINARY_DIR}/packaging/deb/prerm
    ${CMAKE_SOURCE_DIR}/packaging/deb/postrm)
set(CPACK_DEBIAN_RUNTIME_PACKAGE_CONTROL_STRICT_PERMISSION ON)

# ---- .rpm ----
set(CPACK_RPM_COMPONENT_INSTALL ON)
set(CPACK_RPM_FILE_NAME RPM-DEFAULT)
set(CPACK_RPM_PACKAGE_LICENSE "Apache-2.0")
set(CPACK_RPM_PACKAGE_GROUP "System Environment/Daemons")
set(CPACK_RPM_PACKAGE_URL ${CPACK_PACKAGE_HOMEPAGE_URL})
set(CPACK_RPM_RUNTIME_PACKAGE_NAME oryx)
set(CPACK_RPM_PLUGINS_STACK_PACKAGE_NAME oryx-plugins-stack)
set(CPACK_RPM_DEVEL_PACKAGE_NAME oryx-devel)
set(CPACK_RPM_MAIN_COMPONENT runtime)
set(CPACK_RPM_PACKAGE_AUTOREQ OFF)   # names below, not sonames
set(CPACK_RPM_RUNTIME_PACKAGE_REQUIRES "dpdk >= 22.11, spdlog, fmt, civetweb, libbpf, libxdp, libpcap, liburing, openssl-libs, libnl3, systemd")
set(CPACK_RPM_PLUGINS_STACK_PACKAGE_REQUIRES "oryx = ${PROJECT_VERSION}")
set(CPACK_RPM_DEVEL_PACKAGE_REQUIRES "oryx = ${PROJECT_VERSION}, dpdk-devel, cmake, pkgconf-pkg-config")
set(CPACK_RPM_DEVEL_PACKAGE_SUGGESTS "catch2-devel")
set(CPACK_RPM_DEVEL_PACKAGE_GROUP "Development/Libraries")
set(CPACK_RPM_DEVEL_PACKAGE_PROVIDES "pkgconfig(oryx-sdk) = ${PROJECT_VERSION}")
foreach(c RUNTIME:runtime PLUGINS_STACK:stack DEVEL:devel)
  string(REPLACE ":" ";" pair ${c})
  list(GET pair 0 upper)
  list(GET pair 1 key)
  set(CPACK_RPM_${upper}_PACKAGE_SUMMARY "${summary_${key}}")
  string(REPLACE "\n " "\n" text "${long_${key}}")
  set(CPACK_RPM_${upper}_PACKAGE_DESCRIPTION "${text}")
endforeach()
set(CPACK_RPM_SPEC_MORE_DEFINE "%define packager ${CPACK_PACKAGE_CONTACT}")
set(CPACK_RPM_RUNTIME_USER_FILELIST "%config(noreplace) ${CMAKE_INSTALL_FULL_SYSCONFDIR}/oryx/appliance.toml")
set(CPACK_RPM_RUNTIME_POST_INSTALL_SCRIPT_FILE ${CMAKE_SOURCE_DIR}/packaging/rpm/post)
set(CPACK_RPM_RUNTIME_PRE_UNINSTALL_SCRIPT_FILE ${CMAKE_BINARY_DIR}/packaging/rpm/preun)
set(CPACK_RPM_EXCLUDE_FROM_AUTO_FILELIST_ADDITION
    /usr/lib/systemd /usr/lib/systemd/system /usr/libexec /usr/share/man /usr/share/man/man1 /usr/share/man/man5
    /usr/share/man/man8 /usr/share/doc ${CMAKE_INSTALL_FULL_SYSCONFDIR} /usr/lib64/cmake
    /usr/lib64/pkgconfig /usr/include /usr/lib64 /usr/lib/cni /opt /opt/cni /opt/cni/bin)

include(CPack)
