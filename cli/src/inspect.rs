//! `idjag inspect JWT`.

use crate::output::{human_time, now_secs};
use idjag::Error;
use std::io::Read;

pub fn run(jwt: &str, json: bool) -> Result<(), Error> {
    let token = if jwt == "-" {
        let mut s = String::new();
        std::io::stdin()
            .take(128 * 1024)
            .read_to_string(&mut s)
            .map_err(|_| Error::invalid_argument("could not read the token from stdin"))?;
        s
    } else {
        jwt.to_string()
    };
    let now = now_secs();
    let i = idjag::jwt::inspect(&token, now)?;
    if json {
        let v =
            serde_json::to_value(&i).map_err(|_| Error::internal(idjag::Step::Config, "json"))?;
        println!("{v}");
        return Ok(());
    }
    println!(
        "kind: {}",
        serde_json::to_value(i.kind)
            .unwrap_or_default()
            .as_str()
            .unwrap_or("?")
    );
    println!("header:");
    for (k, v) in &i.header {
        println!("  {k}: {v}");
    }
    if !i.claims.is_empty() {
        println!("claims:");
        for (k, v) in &i.claims {
            match (k.as_str(), v.as_i64()) {
                ("exp" | "iat" | "nbf" | "auth_time", Some(t)) => {
                    println!("  {k}: {t} = {}", human_time(t, now))
                }
                _ => println!("  {k}: {v}"),
            }
        }
    }
    if i.warnings.is_empty() {
        println!("warnings: none");
    } else {
        println!("warnings:");
        for w in &i.warnings {
            println!("  ! {w}");
        }
    }
    println!("(decoded without verifying the signature)");
    Ok(())
}
