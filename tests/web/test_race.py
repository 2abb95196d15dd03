"""Two requests racing for one custom name: the unique index picks exactly one winner."""

import threading

from shortener.extensions import db
from shortener.models import Link


def test_racing_creates_of_one_name_give_one_201_and_the_rest_409(app):
    racers = 8
    barrier = threading.Barrier(racers)
    statuses: list[int] = []

    def race(i: int) -> None:
        client = app.test_client()
        barrier.wait()
        response = client.post(
            "/api/links", json={"url": f"https://example.com/{i}", "code": "contested"}
        )
        statuses.append(response.status_code)

    threads = [threading.Thread(target=race, args=(i,)) for i in range(racers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(statuses) == [201] + [409] * (racers - 1)
    with app.app_context():
        assert db.session.query(Link).filter_by(code="contested").count() == 1
