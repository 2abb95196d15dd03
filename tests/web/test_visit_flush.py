"""Visit counts of many links are written in one statement per flush, on each database."""

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
