"""Calcul réparti : réglages Dask et ordonnanceur injoignable (services/reparti.py)."""

import pytest

from donnees.erreurs import ErreurDonnees
from services.reparti import lire_reglages_dask, ouvrir_client

INJOIGNABLE = "tcp://127.0.0.1:9"  # port « discard » : rien n'y écoute


def test_reglages_environnement_avant_territoire(monkeypatch):
    monkeypatch.setenv("DESIMPER_DASK_SCHEDULER", "tcp://ordonnanceur:8786")
    monkeypatch.setenv("DESIMPER_DASK_PROCESSUS", "3")
    reglages = lire_reglages_dask({"dask": {"ordonnanceur": "tcp://autre:8786", "processus": 1}})
    assert reglages["ordonnanceur"] == "tcp://ordonnanceur:8786"
    assert reglages["processus"] == 3 and reglages["repli_local"] is True


def test_reglages_du_territoire_et_defauts(monkeypatch):
    monkeypatch.delenv("DESIMPER_DASK_SCHEDULER", raising=False)
    monkeypatch.delenv("DESIMPER_DASK_PROCESSUS", raising=False)
    assert lire_reglages_dask(None)["ordonnanceur"] is None
    assert lire_reglages_dask(None)["processus"] == 1
    reglages = lire_reglages_dask({"dask": {"ordonnanceur": "tcp://h:8786", "repli_local": False}})
    assert reglages["ordonnanceur"] == "tcp://h:8786" and reglages["repli_local"] is False


@pytest.mark.parametrize("valeur", ["0", "deux", "-1"])
def test_nombre_de_processus_invalide(monkeypatch, valeur):
    monkeypatch.setenv("DESIMPER_DASK_PROCESSUS", valeur)
    with pytest.raises(ErreurDonnees, match="Nombre de processus Dask invalide"):
        lire_reglages_dask(None)


def test_ordonnanceur_injoignable_sans_repli(monkeypatch):
    monkeypatch.delenv("DESIMPER_DASK_SCHEDULER", raising=False)
    territoire = {"dask": {"ordonnanceur": INJOIGNABLE, "repli_local": False, "delai_connexion_s": 1}}
    with pytest.raises(ErreurDonnees, match="ne répond pas") as erreur:
        with ouvrir_client(territoire):
            pass
    assert INJOIGNABLE in str(erreur.value) and "dask.repli_local" in str(erreur.value)


def test_ordonnanceur_injoignable_repli_local(monkeypatch):
    monkeypatch.delenv("DESIMPER_DASK_SCHEDULER", raising=False)
    annonces = []
    territoire = {"dask": {"ordonnanceur": INJOIGNABLE, "delai_connexion_s": 1}}
    with ouvrir_client(territoire, rappel=annonces.append) as client:
        assert client.submit(sum, [1, 2, 3]).result() == 6
    assert any("ne répond pas" in texte and "calcul local" in texte for texte in annonces)


def test_grappe_locale_sous_un_script_streamlit(monkeypatch, tmp_path):
    """Sous Streamlit (et AppTest), ``__main__`` est le script de la page : les processus de calcul, lancés par
    spawn, ne doivent pas le réexécuter (ici il échouerait), et ``__main__`` est rendu à la sortie."""
    import sys
    import types

    monkeypatch.delenv("DESIMPER_DASK_SCHEDULER", raising=False)
    script = tmp_path / "page.py"
    script.write_text("raise SystemExit('script de page réexécuté dans un processus de calcul')\n")
    page = types.ModuleType("__main__")
    page.__file__ = str(script)
    monkeypatch.setitem(sys.modules, "__main__", page)
    with ouvrir_client(processus=1) as client:
        assert client.submit(sum, [1, 2, 3]).result() == 6
    assert sys.modules["__main__"] is page
