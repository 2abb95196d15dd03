"""Visit counts of many links are written in one statement per flush, on each database."""

import sqlalchemy as sa

from shortener.extensions import db
from shortener.models import Link
from shortener.visits import visits


def test_one_flush_adds_every_links_count(app, client):
    codes = [
        client.post("/api/links", json={"url": f"https://example.com/{i}"}).get_json()["code"]
        for i in range(5)
    ]
    for n, code in enumerate(codes, start=1):
        for _ in range(n):
            assert client.get(f"/{code}").status_code == 302
    with app.app_context():
        assert visits.flush() == 15
        for _ in range(2):
            client.get(f"/{codes[0]}")
        assert visits.flush() == 2
        links = {link.code: link for link in db.session.scalars(db.select(Link))}
    assert [links[code].visits for code in codes] == [3, 2, 3, 4, 5]
    assert all(links[code].last_visited_at is not None for code in codes)


def test_counts_of_the_previous_release_add_up(app, client):
    """Releases before link_visits counted in links.visits; the API shows the sum."""
    code = client.post("/api/links", json={"url": "https://example.com/old"}).get_json()["code"]
    with app.app_context():
        db.session.execute(
            sa.text("UPDATE links SET visits = 7 WHERE code = :code"), {"code": code}
        )
        db.session.commit()
    for _ in range(2):
        client.get(f"/{code}")
    assert client.get(f"/api/links/{code}").get_json()["visits"] == 9  # 7 stored + 2 pending
    with app.app_context():
        assert visits.flush() == 2
        stored = db.session.execute(
            sa.text("SELECT visits FROM links WHERE code = :code"), {"code": code}
        )
        assert stored.scalar_one() == 7  # the wide row was not rewritten
    assert client.get(f"/api/links/{code}").get_json()["visits"] == 9
    assert "9" in client.get(f"/{code}+").get_data(as_text=True)


def test_a_link_deleted_before_the_flush_does_not_block_it(app, client):
    codes = [
        client.post("/api/links", json={"url": f"https://example.com/{i}"}).get_json()["code"]
        for i in range(2)
    ]
    for code in codes:
        client.get(f"/{code}")
    with app.app_context():
        db.session.execute(sa.text("DELETE FROM links WHERE code = :code"), {"code": codes[0]})
        db.session.commit()
        visits.flush()
        assert visits.pending(1) == visits.pending(2) == 0
    assert client.get(f"/api/links/{codes[1]}").get_json()["visits"] == 1
