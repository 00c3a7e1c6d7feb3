"""AppTest : les pages posent leurs questions de droits à donnees.droits (aucun test de rôle dans une page)."""

from pathlib import Path

from outils import connecter_appli, lancer_appli
from streamlit.testing.v1 import AppTest

APP = str(Path(__file__).resolve().parents[2] / "app.py")
MDP = "une phrase de passe solide"


def _lancer(monkeypatch, dossier: Path) -> AppTest:
    return lancer_appli(monkeypatch, dossier)


_connecter = connecter_appli


def _comptes(dossier: Path) -> dict:
    """Un administrateur et un référent de Sète dans la base de la démonstration copiée."""
    from donnees.comptes import creer_compte
    from donnees.config import url_base
    from donnees.magasin import Magasin

    magasin = Magasin(url_base(dossier))
    comptes = {
        "administrateur": creer_compte(magasin, "admin@bassin.fr", "Alice Admin", "administrateur", [], MDP,
                                       auteur="test"),
        "referent": creer_compte(magasin, "referent@sete.fr", "Camille", "referent", ["34301"], MDP, auteur="test"),
    }
    operations = magasin.lire_operations()
    comptes["validee"] = int(operations[(operations["code_insee"] == "34301")
                                        & (operations["validation"] == "validee")]["id"].iloc[0])
    magasin.fermer()
    return comptes


def test_import_et_saisie_selon_le_perimetre(monkeypatch, dossier_demo_copie):
    comptes = _comptes(dossier_demo_copie)
    appli = _lancer(monkeypatch, dossier_demo_copie)

    appli.switch_page("pages/importer.py").run()  # public : connectez-vous
    assert not appli.exception, appli.exception
    assert any("connectez-vous" in i.value for i in appli.info)

    _connecter(appli, comptes["referent"])
    appli.run()
    assert not appli.exception, appli.exception
    assert [c.value for c in appli.caption if "peut importer dans" in c.value] == \
        ["Votre compte peut importer dans : Sète (34301)."]  # nom de la commune à côté du code (issue 11)
    appli.switch_page("pages/saisie.py").run()
    assert not appli.exception, appli.exception
    assert appli.selectbox(key="saisie_commune").options == ["Sète (34301)"]

    _connecter(appli, comptes["administrateur"])
    appli.switch_page("pages/importer.py").run()
    assert not appli.exception, appli.exception
    assert not [c for c in appli.caption if "peut importer dans" in c.value]
    appli.switch_page("pages/saisie.py").run()
    assert len(appli.selectbox(key="saisie_commune").options) > 1


def test_administrateur_modifie_une_operation_validee_sans_avis_de_revalidation(monkeypatch, dossier_demo_copie):
    comptes = _comptes(dossier_demo_copie)
    appli = _lancer(monkeypatch, dossier_demo_copie)
    _connecter(appli, comptes["administrateur"])
    appli.query_params["id"] = str(comptes["validee"])
    appli.switch_page("pages/saisie.py").run()
    assert not appli.exception, appli.exception
    assert appli.title[0].value == f"Modifier l'opération n° {comptes['validee']}"
    assert not any("repassera « à valider »" in i.value for i in appli.info)


def test_connexion_et_barre_laterale_selon_la_session(monkeypatch, dossier_demo_copie):
    comptes = _comptes(dossier_demo_copie)
    appli = _lancer(monkeypatch, dossier_demo_copie)
    appli.switch_page("pages/connexion.py").run()
    assert not appli.exception, appli.exception
    assert not appli.success and any(b.label == "Se connecter" for b in appli.get("form_submit_button"))
    _connecter(appli, comptes["referent"])
    appli.run()
    assert not appli.exception, appli.exception
    assert any("Connecté : **Camille**" in s.value and "communes : Sète (34301)" in s.value for s in appli.success)
