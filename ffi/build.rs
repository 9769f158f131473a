//! Gives the shared library the SONAME of the installed file (`libidjag.so.0.<minor>` while the
//! major version is 0, `libidjag.so.<major>` after), so programs linked with `-lidjag` keep
//! working across compatible upgrades. Writes nothing into the source tree.

fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    let os = std::env::var("CARGO_CFG_TARGET_OS").unwrap_or_default();
    if os == "linux" || os == "freebsd" || os == "android" {
        let major = std::env::var("CARGO_PKG_VERSION_MAJOR").unwrap_or_default();
        let minor = std::env::var("CARGO_PKG_VERSION_MINOR").unwrap_or_default();
        let soname = if major == "0" {
            format!("libidjag.so.0.{minor}")
        } else {
            format!("libidjag.so.{major}")
        };
        println!("cargo:rustc-cdylib-link-arg=-Wl,-soname,{soname}");
    }
}
