import pytest

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_debug(logged_in_page, live_server):
    page = logged_in_page("team_leader")
    page.set_viewport_size({"width": 800, "height": 1280})
    page.reload()
    page.wait_for_selector('#mission-map[data-layers-state="loaded"]')
    print(
        page.evaluate("""() => {
      const r = s => { const e = document.querySelector(s); const b = e.getBoundingClientRect(); return s + ' ' + JSON.stringify([b.top, b.height, getComputedStyle(e).height]); };
      return [r('.dashboard'), r('.dashboard__intro'), r('.map-panel'), r('#mission-map'), r('#mission-map-legend'), r('.dashboard__side'), r('.leaflet-mission-provinces-pane svg'), window.innerHeight].join('\\n');
    }""")
    )
