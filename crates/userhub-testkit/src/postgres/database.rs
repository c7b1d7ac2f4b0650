//! A fresh database per test.

use sqlx::{Connection, Executor, PgConnection};

use super::PostgresError;

/// Create a uniquely named database on the server at `admin_url` and return its URL.
#[tracing::instrument(skip_all)]
pub async fn create_database(admin_url: &str) -> Result<String, PostgresError> {
    let name = format!("userhub_test_{}", uuid::Uuid::new_v4().simple());
    let url = with_database(admin_url, &name)?;
    let mut conn = PgConnection::connect(admin_url)
        .await
        .map_err(|source| PostgresError::Sql {
            context: format!("connecting to {admin_url}"),
            source,
        })?;
    conn.execute(format!("CREATE DATABASE \"{name}\"").as_str())
        .await
        .map_err(|source| PostgresError::Sql {
            context: format!("CREATE DATABASE {name} on {admin_url}"),
            source,
        })?;
    let _ = conn.close().await;
    Ok(url)
}

/// `url` with its database (path) replaced by `database`, keeping the query.
pub fn with_database(url: &str, database: &str) -> Result<String, PostgresError> {
    let invalid = |reason| PostgresError::InvalidUrl {
        url: url.to_owned(),
        reason,
    };
    let (scheme, rest) = url.split_once("://").ok_or(invalid("missing `://`"))?;
    if scheme != "postgres" && scheme != "postgresql" {
        return Err(invalid("scheme must be postgres:// or postgresql://"));
    }
    let (before_query, query) = match rest.split_once('?') {
        Some((before, query)) => (before, Some(query)),
        None => (rest, None),
    };
    let authority = before_query.split('/').next().unwrap_or_default();
    if authority.is_empty() {
        return Err(invalid("missing host"));
    }
    let mut out = format!("{scheme}://{authority}/{database}");
    if let Some(query) = query {
        out.push('?');
        out.push_str(query);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::with_database;

    #[test]
    fn replaces_the_database_and_keeps_the_query() {
        assert_eq!(
            with_database("postgres://u:p@h:5432/postgres?sslmode=disable", "t1").ok(),
            Some("postgres://u:p@h:5432/t1?sslmode=disable".to_owned())
        );
        assert_eq!(
            with_database("postgresql://h", "t2").ok(),
            Some("postgresql://h/t2".to_owned())
        );
    }

    #[test]
    fn rejects_what_is_not_a_postgres_url() {
        assert!(with_database("sqlite://x.db", "t").is_err());
        assert!(with_database("postgres:///db", "t").is_err());
        assert!(with_database("127.0.0.1:5432", "t").is_err());
    }
}
