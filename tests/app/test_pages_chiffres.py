"""AppTest : chiffres qu'un financeur peut citer (issue 11) — réalisées par défaut, périmètre affiché."""

import re
from pathlib import Path

import pandas as pd
import pytest
from outils import lancer_appli
from streamlit.testing.v1 import AppTest

APP = str(Path(__file__).resolve().parents[2] / "app.py")
REVETEMENTS = Path(__file__).resolve().parents[2] / "donnees" / "nomenclatures" / "revetements.csv"
MDP = "une phrase de passe solide"


def _lancer(monkeypatch, dossier: Path) -> AppTest:
    return lancer_appli(monkeypatch, dossier, delai_s=180)


def _nombre(texte: str) -> int:
    """« 45 965 m² » → 45965 (espaces fines insécables comprises)."""
    return int(re.sub(r"[^\d]", "", texte.split(",")[0]))


def _lire_magasin(dossier: Path) -> tuple[pd.DataFrame, pd.DataFrame]:
    from donnees.config import url_base
    from donnees.magasin import Magasin

    magasin = Magasin(url_base(dossier))
    try:
        return magasin.lire_operations(), magasin.lire_zones()
    finally:
        magasin.fermer()


def _surface_desimpermeabilisee(operations: pd.DataFrame, zones) -> float:
    """Calcul indépendant : aire en Lambert-93 des zones passées d'un revêtement imperméable à un revêtement
    perméable (colonne ``impermeable`` de revetements.csv), opérations localisées."""
    impermeable = pd.read_csv(REVETEMENTS).set_index("code")["impermeable"].eq("oui")
    localisees = operations[~operations["localisation_approximative"].astype(bool)]
    retenues = zones[zones["operation_id"].isin(localisees["id"])]
    transformees = (retenues["revetement_avant"].map(impermeable).astype(bool)
                    & ~retenues["revetement_apres"].map(impermeable).astype(bool))
    return float(retenues[transformees.to_numpy()].to_crs(2154).area.sum())


def test_surface_publique_par_defaut_egale_la_somme_des_realisees_validees(monkeypatch, dossier_demo):
    operations, zones = _lire_magasin(dossier_demo)
    retenues = operations[operations["statut"].eq("realisee") & operations["validation"].eq("validee")
                          & ~operations["supprimee"].astype(bool)]
    attendu = _surface_desimpermeabilisee(retenues, zones)
    toutes = _surface_desimpermeabilisee(operations[~operations["supprimee"].astype(bool)], zones)
    assert toutes > attendu > 0  # la démonstration a des opérations non terminées ou non validées

    appli = _lancer(monkeypatch, dossier_demo)
    assert not appli.exception, appli.exception
    metriques = {m.label: m for m in appli.metric}
    # le public ne lit que des opérations validées : pas de filtre « Validation » qui promettrait les autres
    assert "Validation" not in {p.label for p in appli.sidebar.pills}
    assert "Statut" in {p.label for p in appli.sidebar.pills}
    assert _nombre(metriques["Surface désimperméabilisée"].value) == pytest.approx(attendu, abs=1)
    assert _nombre(metriques["Nombre d'opérations"].value) == len(retenues)
    # la projection (validées, en travaux et programmées) est une carte à part, jamais additionnée
    projetees = operations[operations["statut"].isin(["programmee", "en_travaux"])
                           & operations["validation"].eq("validee") & ~operations["supprimee"].astype(bool)]
    projection = metriques["En travaux et programmées (projection)"]
    assert _nombre(projection.value) == pytest.approx(_surface_desimpermeabilisee(projetees, zones), abs=1)
    legendes = [c.value for c in appli.caption if c.value.startswith("Périmètre :")]
    assert legendes == ["Périmètre : Bassin de Thau (démonstration) · opérations réalisées (travaux terminés) · "
                        "validées par le syndicat."]
    # ratio SDAGE : un pourcentage comparé à la cible des paramètres
    assert metriques["Ratio de compensation SDAGE"].value.endswith("%")
    assert "150 %" in str(metriques["Ratio de compensation SDAGE"].delta)

    appli.session_state["filtre_statuts"] = ["realisee", "en_travaux", "programmee"]
    appli.run()
    legende = [c.value for c in appli.caption if c.value.startswith("Périmètre :")][0]
    assert "projection comprise" in legende  # l'utilisateur a choisi d'additionner : la légende le dit
    assert not any(m.label.endswith("(projection)") for m in appli.metric)


def test_cartes_du_referent_partagent_un_perimetre(monkeypatch, dossier_demo_copie):
    from donnees.comptes import creer_compte
    from donnees.config import url_base
    from donnees.magasin import Magasin

    magasin = Magasin(url_base(dossier_demo_copie))
    referent = creer_compte(magasin, "referent@sete.fr", "Camille", "referent", ["34301"], MDP, auteur="test")
    magasin.fermer()
    operations, zones = _lire_magasin(dossier_demo_copie)
    appli = lancer_appli(monkeypatch, dossier_demo_copie, referent, delai_s=180)
    assert not appli.exception, appli.exception

    assert "Validation" in {p.label for p in appli.sidebar.pills}  # il lit les non validées de sa commune
    legendes = [c.value for c in appli.caption if c.value.startswith("Périmètre :")]
    assert len(legendes) == 1 and legendes[0].startswith("Périmètre : vos communes (Sète)")
    assert all(m.help.endswith(legendes[0]) for m in appli.metric), [m.help for m in appli.metric]
    metriques = {m.label: m.value for m in appli.metric}
    assert "Coût total HT" in metriques and "Taux d'aide" in metriques  # sa commune : coûts compris
    sete = operations[operations["code_insee"].eq("34301") & operations["statut"].eq("realisee")
                      & ~operations["supprimee"].astype(bool)]
    assert _nombre(metriques["Nombre d'opérations"]) == len(sete)  # surface et nombre sur le même périmètre
    assert _nombre(metriques["Surface désimperméabilisée"]) == pytest.approx(
        _surface_desimpermeabilisee(sete, zones), abs=1)

    appli.segmented_control(key="vue_perimetre").set_value("bassin").run()
    assert not appli.exception, appli.exception
    legendes = [c.value for c in appli.caption if c.value.startswith("Périmètre :")]
    assert legendes == ["Périmètre : Bassin de Thau (démonstration) · opérations réalisées (travaux terminés) · "
                        "validées par le syndicat."]
    assert all(m.help.endswith(legendes[0]) for m in appli.metric)
    assert "Coût total HT" not in {m.label for m in appli.metric}  # au bassin : les chiffres publics

    appli.switch_page("pages/commune.py")
    appli.query_params["code"] = "34301"
    appli.run()
    assert not appli.exception, appli.exception
    legendes = [c.value for c in appli.caption if c.value.startswith("Périmètre :")]
    assert len(legendes) == 1 and legendes[0].startswith("Périmètre : Sète ·")
    assert "validées ou non" in legendes[0]  # sa commune : il voit aussi les opérations à valider
    assert all(m.help.endswith(legendes[0]) for m in appli.metric[:6])
