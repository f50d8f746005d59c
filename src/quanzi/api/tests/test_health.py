from django.db import connection


def test_health_reports_status_and_database_vendor(client, db):
    response = client.get("/api/v1/health")

    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "ok"
    assert body["database"] == connection.vendor
