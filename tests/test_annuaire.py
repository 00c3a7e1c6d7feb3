"""Annuaire et pairs (issue 16, partie 4) vérifiés dans la couche de données : consentement explicite, retrait (champs
effacés, fiche hors de l'annuaire), compte désactivé, rien pour le public, matrice des droits (public, financeur,
référent de la commune, référent d'une autre commune, syndicat), modération journalisée, partage entre territoires ;
« Qui l'a fait avant moi ? » : classement, explication, coût absent pour qui ne lit pas les montants, aucun nom pour
le public."""

from __future__ import annotations

import math
import re

import pandas as pd
import pytest
from shapely.geometry import box
from test_droits import EMAILS, NOMS, A, B, operation

from donnees.comptes import VISITEUR, desactiver_compte, lire_compte
from donnees.droits import ErreurDroits, MagasinProtege
from donnees.droits.annuaire import lire_pairs_autres_territoires
from donnees.erreurs import ErreurDonnees
from donnees.magasin import Magasin
from donnees.magasin.annuaire import lire_parametres_annuaire, lire_sujets_annuaire
from donnees.magasin.tables import table_fiche_annuaire
from indicateurs.pairs import COLONNES_PAIRS, ProjetReference, classer_pairs, lire_parametres_pairs
from services.pairs import chercher_pairs

ROLES = ["visiteur", "financeur", "referent_A", "referent_B", "administrateur"]
CONNECTES = set(ROLES) - {"visiteur"}
HOSTILE = "<script>alert('x')</script> **gras** [lien](javascript:alert(1))"
FICHE_A = {"fonction": "Responsable des espaces verts", "telephone": "04 67 00 00 01", "email_visible": True,
           "presentation": "Cour oasis de l'école Jules-Ferry.", "sujets": ["cours_ecole", "vegetalisation"]}


@pytest.fixture
def comptes(magasin):
    if magasin.est_postgresql:  # table de l'annuaire hors de la liste vidée par conftest
        with magasin.moteur.begin() as conn:
            conn.exec_driver_sql("TRUNCATE fiche_annuaire RESTART IDENTITY CASCADE")
    magasin.creer_utilisateur(EMAILS["administrateur"], "Alice Admin", "administrateur", [], None, auteur="test")
    magasin.creer_utilisateur(EMAILS["financeur"], "Farid Financeur", "financeur", [], None, auteur="test")
    magasin.creer_utilisateur(EMAILS["referent_A"], "Camille Sète", "referent", [A], None, auteur="test")
    magasin.creer_utilisateur(EMAILS["referent_B"], "Dominique Mèze", "referent", [B], None, auteur="test")
    return magasin


def protege(magasin, role: str) -> MagasinProtege:
    utilisateur = VISITEUR if role == "visiteur" else lire_compte(magasin, EMAILS[role])
    return MagasinProtege(magasin, utilisateur, noms_communes=NOMS)


def lignes_fiches(magasin) -> list[dict]:
    with magasin.moteur.connect() as conn:
        return [dict(r._mapping) for r in conn.execute(table_fiche_annuaire.select().order_by("id"))]


# ------------------------------------------------------------------------------------------- consentement

def test_consentement_explicite_obligatoire_et_rien_d_ecrit_sans_lui(comptes):
    ref = protege(comptes, "referent_A")
    journal = len(comptes.lire_journal())
    for consentement in (False, None, "oui", 1):
        with pytest.raises(ErreurDonnees, match="case de consentement"):
            ref.enregistrer_ma_fiche(consentement, **FICHE_A)
    assert lignes_fiches(comptes) == [] and len(comptes.lire_journal()) == journal
    assert ref.lire_ma_fiche() is None


def test_fiche_consentie_lue_avec_nom_role_communes_du_compte(comptes):
    ref = protege(comptes, "referent_A")
    ident = ref.enregistrer_ma_fiche(True, **FICHE_A)
    fiche = ref.lire_ma_fiche()
    assert fiche["consentement"] and fiche["consenti_le"] is not None and fiche["sujets"] == FICHE_A["sujets"]
    # Nom, rôle et communes ne sont pas recopiés : un changement du compte se voit aussitôt.
    assert "nom" not in {c.name for c in table_fiche_annuaire.c}
    comptes.modifier_utilisateur(EMAILS["referent_A"], {"nom": "Camille Martin"}, "test")
    annuaire = protege(comptes, "financeur").lire_annuaire()
    assert annuaire.loc[0, ["id", "nom", "role", "email", "telephone"]].tolist() == [
        ident, "Camille Martin", "referent", EMAILS["referent_A"], "04 67 00 00 01"]
    assert annuaire.loc[0, "communes"] == [A]
    # Journal : les noms des champs, jamais leurs valeurs (données personnelles).
    journal = comptes.lire_journal()
    ligne = journal[journal["table_cible"].eq("fiche_annuaire")].iloc[-1]
    assert "04 67" not in str(ligne["diff"]) and "telephone" in str(ligne["diff"])


def test_adresse_seulement_si_visible_et_champs_vides_non_montres(comptes):
    protege(comptes, "referent_B").enregistrer_ma_fiche(True, fonction="Chargé de mission")
    fiche = protege(comptes, "administrateur").lire_annuaire().iloc[0]
    assert fiche["email"] is None and fiche["telephone"] is None and fiche["presentation"] is None
    assert fiche["sujets"] == []


def test_retrait_efface_et_sort_de_l_annuaire_aussitot(comptes):
    ref = protege(comptes, "referent_A")
    ref.enregistrer_ma_fiche(True, **FICHE_A, visible_autres_territoires=True)
    assert len(protege(comptes, "referent_B").lire_annuaire()) == 1
    assert ref.retirer_ma_fiche() is True
    assert ref.lire_ma_fiche() is None
    for role in CONNECTES:
        assert protege(comptes, role).lire_annuaire().empty
    brute, = lignes_fiches(comptes)
    assert not brute["consentement"] and brute["consenti_le"] is None
    assert [brute[c] for c in ("fonction", "telephone", "presentation", "sujets")] == [None] * 4
    assert not brute["email_visible"] and not brute["visible_autres_territoires"]
    assert comptes.lire_fiches_annuaire(hors_territoire=True).empty
    assert ref.retirer_ma_fiche() is False  # rien à retirer
    # Nouveau consentement : nouvelle date, champs à ressaisir.
    ref.enregistrer_ma_fiche(True, fonction="Technicienne")
    assert ref.lire_ma_fiche()["telephone"] is None


def test_compte_desactive_n_apparait_plus(comptes):
    protege(comptes, "referent_A").enregistrer_ma_fiche(True, **FICHE_A)
    assert len(protege(comptes, "financeur").lire_annuaire()) == 1
    desactiver_compte(comptes, EMAILS["referent_A"], "test")
    assert protege(comptes, "financeur").lire_annuaire().empty
    assert protege(comptes, "administrateur").lire_annuaire().empty
    assert protege(comptes, "financeur").lire_referents_communes([A]).empty


@pytest.mark.parametrize("champs, motif", [
    ({"telephone": "appelez-moi"}, "n'est pas un numéro"),
    ({"sujets": ["astrologie"]}, "« astrologie » inconnu"),
    ({"fonction": "x" * 500}, "au plus 120"),
    ({"fonction": "ligne\nsuivante"}, "caractère\\(s\\) de contrôle"),
    ({"email_visible": "peut-être"}, "oui ou non attendu"),
    ({"nom": "Autre nom"}, "viennent du compte"),
])
def test_saisies_fautives_refusees_en_francais_sans_rien_ecrire(comptes, champs, motif):
    with pytest.raises(ErreurDonnees, match=motif):
        protege(comptes, "referent_A").enregistrer_ma_fiche(True, **champs)
    assert lignes_fiches(comptes) == []


def test_texte_hostile_garde_tel_quel(comptes):
    protege(comptes, "referent_A").enregistrer_ma_fiche(True, presentation=HOSTILE, fonction=HOSTILE[:100])
    fiche = protege(comptes, "referent_B").lire_annuaire().iloc[0]
    assert fiche["presentation"] == HOSTILE and fiche["fonction"] == HOSTILE[:100]


def test_parametres_et_sujets_declares_avec_leur_justification():
    parametres = lire_parametres_annuaire()
    assert set(parametres["justification"]) >= {"longueur_max_fonction", "longueur_max_presentation"}
    assert "cours_ecole" in lire_sujets_annuaire()


# ------------------------------------------------------------------------------------------ matrice des droits

MATRICE = {
    "lire_annuaire": (lambda p, f: p.lire_annuaire(), CONNECTES),
    "lire_referents": (lambda p, f: p.lire_referents_communes([A]), CONNECTES),
    "gerer_sa_fiche": (lambda p, f: p.enregistrer_ma_fiche(True, fonction="Agent"), CONNECTES),
    "lire_sa_fiche": (lambda p, f: p.lire_ma_fiche(), CONNECTES),
    "retirer_sa_fiche": (lambda p, f: p.retirer_ma_fiche(), CONNECTES),
    "masquer": (lambda p, f: p.masquer_fiche_annuaire(f, "Coordonnées d'un tiers"), {"administrateur"}),
    "pairs_autres_territoires": (lambda p, f: lire_pairs_autres_territoires(p.utilisateur, []), CONNECTES),
}


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("action", list(MATRICE))
def test_matrice_des_droits(comptes, role, action):
    fiche = protege(comptes, "referent_A").enregistrer_ma_fiche(True, **FICHE_A)
    appel, permis = MATRICE[action]
    if role in permis:
        appel(protege(comptes, role), fiche)
    else:
        with pytest.raises(ErreurDroits):
            appel(protege(comptes, role), fiche)
        assert protege(comptes, "financeur").lire_annuaire()["fonction"].tolist() == [FICHE_A["fonction"]]


def test_chacun_sa_fiche_seulement(comptes):
    """Aucune méthode de la façade ne prend l'adresse d'un autre : le syndicat ne crée ni ne modifie la fiche d'autrui
    et ne lit pas une adresse non rendue visible."""
    admin = protege(comptes, "administrateur")
    with pytest.raises(ErreurDonnees, match="email inconnu"):
        admin.enregistrer_ma_fiche(True, email=EMAILS["referent_A"], fonction="Imposée")
    assert lignes_fiches(comptes) == []
    with pytest.raises(ErreurDonnees, match="inconnu"):
        comptes.ecrire_fiche_annuaire(EMAILS["referent_A"], True, {"email": "x@y.fr"}, EMAILS["administrateur"])
    admin.enregistrer_ma_fiche(True, fonction="Animatrice")
    protege(comptes, "referent_B").enregistrer_ma_fiche(True, fonction="Technicien")  # adresse non visible
    assert protege(comptes, "referent_B").lire_ma_fiche()["fonction"] == "Technicien"
    lues = admin.lire_annuaire()
    assert sorted(lues["fonction"]) == ["Animatrice", "Technicien"]
    assert EMAILS["referent_B"] not in lues.astype(str).to_string()


def test_moderation_journalisee_et_visible_du_seul_syndicat(comptes):
    fiche = protege(comptes, "referent_A").enregistrer_ma_fiche(True, **FICHE_A)
    admin = protege(comptes, "administrateur")
    with pytest.raises(ErreurDonnees, match="motif vide"):
        admin.masquer_fiche_annuaire(fiche, "  ")
    admin.masquer_fiche_annuaire(fiche, "Numéro personnel")
    for role in ("financeur", "referent_A", "referent_B"):
        assert protege(comptes, role).lire_annuaire().empty
    assert protege(comptes, "financeur").lire_referents_communes([A]).empty
    masquee = admin.lire_annuaire().iloc[0]
    assert masquee["masquee"] and masquee["motif_masquage"] == "Numéro personnel"
    # Un retrait puis un nouveau consentement ne contournent pas la modération.
    ref = protege(comptes, "referent_A")
    ref.retirer_ma_fiche()
    ref.enregistrer_ma_fiche(True, fonction="Agent")
    assert protege(comptes, "financeur").lire_annuaire().empty
    admin.restaurer_fiche_annuaire(fiche)
    assert protege(comptes, "financeur").lire_annuaire()["fonction"].tolist() == ["Agent"]
    journal = comptes.lire_journal()
    actions = journal[journal["table_cible"].eq("fiche_annuaire")]
    assert {"suppression", "restauration"} <= set(actions["action"])
    assert EMAILS["administrateur"] in set(actions["auteur"])
    # Le membre est prévenu du masquage (avec le motif) puis du rétablissement ; personne d'autre.
    notifications = comptes.lire_notifications(EMAILS["referent_A"])
    assert notifications["genre"].tolist() == ["fiche_annuaire_moderee"] * 2
    assert set(notifications["texte"]) == {
        "Votre fiche de l'annuaire a été masquée par le syndicat de bassin. Motif : Numéro personnel",
        "Votre fiche de l'annuaire a été rétablie par le syndicat de bassin."}
    assert set(notifications["lien"]) == {"/annuaire"}
    assert comptes.lire_notifications(EMAILS["administrateur"]).empty


def test_public_ne_lit_rien(comptes):
    protege(comptes, "referent_A").enregistrer_ma_fiche(True, **FICHE_A)
    public = protege(comptes, "visiteur")
    for appel in (public.lire_annuaire, lambda: public.lire_referents_communes([A]), public.lire_ma_fiche):
        with pytest.raises(ErreurDroits, match="sans être connecté"):
            appel()


# ------------------------------------------------------------------------------------------ autres territoires

def test_pairs_des_autres_territoires_seulement_si_consenti(comptes, tmp_path):
    autre = Magasin(f"sqlite:///{(tmp_path / 'autre.sqlite').as_posix()}")
    try:
        autre.creer_tables()
        for email, nom, partage in (("a@lez.fr", "Agnès Lez", True), ("b@lez.fr", "Bruno Lez", False)):
            autre.creer_utilisateur(email, nom, "referent", ["34116"], None, auteur="test")
            autre.ecrire_fiche_annuaire(email, True, {"fonction": "Technicien",
                                                      "visible_autres_territoires": partage}, email)
        autre.creer_utilisateur("c@lez.fr", "Chloé Lez", "referent", ["34116"], None, auteur="test")  # sans fiche
        lues = lire_pairs_autres_territoires(protege(comptes, "referent_A").utilisateur,
                                             [("lez", "Bassin du Lez", autre)])
        assert lues["nom"].tolist() == ["Agnès Lez"] and lues["nom_territoire"].tolist() == ["Bassin du Lez"]
        with pytest.raises(ErreurDroits):
            lire_pairs_autres_territoires(VISITEUR, [("lez", "Bassin du Lez", autre)])
        # Retrait dans l'autre territoire : la fiche disparaît aussitôt d'ici aussi.
        autre.retirer_fiche_annuaire("a@lez.fr", "a@lez.fr")
        assert lire_pairs_autres_territoires(protege(comptes, "financeur").utilisateur,
                                             [("lez", "Bassin du Lez", autre)]).empty
    finally:
        autre.fermer()


# ------------------------------------------------------------------------------------------ qui l'a fait avant moi

def _candidates(lignes: list[tuple]) -> pd.DataFrame:
    return pd.DataFrame(lignes, columns=["operation_id", "code_insee", "nom", "type_site", "annee", "surface_m2",
                                         "cout_par_m2", "revetement_apres"])


def test_classement_des_pairs_et_explication():
    candidates = _candidates([
        (1, A, "Cour Jules-Ferry", "cour_ecole", 2023, 1200.0, 90.0, "pelouse"),
        (2, B, "Cour Pagnol", "cour_ecole", 2021, 1000.0, 300.0, "pelouse"),   # surface proche, coût lointain
        (3, B, "Cour géante", "cour_ecole", 2022, 9000.0, 95.0, "pelouse"),    # hors du rapport de surface
        (4, A, "Parking du port", "parking", 2023, 1000.0, 90.0, "pelouse"),   # autre type
        (5, "34108", "Cour Brassens", "cour_ecole", 2020, 950.0, float("nan"), "dalles_engazonnees"),
        (6, A, "Le projet lui-même", "cour_ecole", 2024, 950.0, 100.0, "pelouse"),
    ])
    projet = ProjetReference("cour_ecole", 950.0, 100.0, "pelouse", operation_id=6)
    pairs = classer_pairs(candidates, projet, None, NOMS, {"cour_ecole": "Cour d'école"}, {"pelouse": "Pelouse"})
    assert list(pairs.columns) == COLONNES_PAIRS
    assert pairs["operation_id"].tolist() == [1, 5, 2] and pairs["rang"].tolist() == [1, 2, 3]
    assert pairs["distance"].is_monotonic_increasing
    assert re.sub(r"\s", " ", pairs.loc[0, "explication"]) == (  # espaces insécables des nombres à la française
        "même type (Cour d'école), surface 1 200 m² contre 950 m², coût 90 €/m² contre 100 €/m², même revêtement "
        "après (Pelouse), 2023, Sète")
    # Coût inconnu : le critère sort de la moyenne (ni pour ni contre), pas de coût dans l'explication.
    assert math.isnan(pairs.loc[1, "ecart_cout"]) and "coût" not in pairs.loc[1, "explication"]
    assert pairs.loc[1, "explication"].endswith("2020, Frontignan")
    # Page Commune : commune exclue ; nombre maximal respecté.
    autres = classer_pairs(candidates, ProjetReference("cour_ecole", 950.0, exclure_commune=A), {"nombre_max_pairs": 1})
    assert autres["operation_id"].tolist() == [5]


def test_parametres_des_pairs_sources():
    parametres = lire_parametres_pairs()
    assert parametres["rapport_surface_max"] > 1 and parametres["nombre_max_pairs"] >= 1


@pytest.fixture
def registre(comptes):
    """Cours d'école réalisées et validées : deux à Mèze (B) de tailles voisines, une à Sète (A) ; une non validée à
    Mèze ; le référent de Mèze a une fiche consentie, celui de Sète non."""
    def cour(code, validation, cote, cout, annee):
        return operation(code, validation, cout_ht_eur=cout, financements=[], photos=[],
                         date_fin_travaux=pd.Timestamp(f"{annee}-06-01").date(),
                         zones=[{"geometrie": box(3.69, 43.40, 3.69 + cote, 43.40 + cote),
                                 "revetement_avant": "enrobe", "revetement_apres": "pelouse"}])
    ids = {"a": comptes.creer_operation(cour(A, "validee", 0.0004, 120_000.0, 2024), "test"),
           "b1": comptes.creer_operation(cour(B, "validee", 0.00042, 110_000.0, 2023), "test"),
           "b2": comptes.creer_operation(cour(B, "validee", 0.0002, 20_000.0, 2021), "test"),
           "b_nv": comptes.creer_operation(cour(B, "a_valider", 0.0004, 100_000.0, 2024), "test")}
    protege(comptes, "referent_B").enregistrer_ma_fiche(True, fonction="Directeur des services techniques",
                                                       telephone="04 67 11 22 33")
    return ids


@pytest.mark.parametrize("role", ROLES)
def test_qui_l_a_fait_avant_moi_selon_le_lecteur(comptes, registre, role):
    resultat = chercher_pairs(protege(comptes, role), operation_id=registre["a"])
    ids = resultat.pairs["operation_id"].tolist()
    # Réalisées et validées seulement (pas la non validée, que le référent de Mèze pourrait lire), pas elle-même, et
    # pas la petite cour de Mèze (surface hors du rapport toléré) : les mêmes pairs pour tous.
    assert ids == [registre["b1"]]
    assert resultat.pairs.loc[0, "commune"] == "Mèze"
    assert resultat.pairs.loc[0, "explication"].startswith("même type (Cour d'école), surface ")
    assert resultat.pairs.loc[0, "explication"].endswith("2023, Mèze")
    if role in ("financeur", "administrateur"):  # lisent les deux coûts
        assert "€/m²" in resultat.pairs.loc[0, "explication"]
    else:  # public : aucun coût ; référents : un des deux coûts n'est pas de leur commune
        assert "€" not in " ".join(resultat.pairs["explication"])
    if role in ("visiteur", "referent_B"):
        assert resultat.projet.cout_par_m2 is None  # coût de l'opération de Sète non lisible
    if role == "visiteur":
        assert resultat.referents is None and not resultat.couts_lisibles  # ni nom ni coordonnées, ni coût
        assert "Dominique" not in resultat.pairs.astype(str).to_string()
    else:
        assert resultat.referents[["code_insee", "nom", "telephone"]].values.tolist() == [
            [B, "Dominique Mèze", "04 67 11 22 33"]]
        assert resultat.referents["email"].tolist() == [None]  # adresse non rendue visible


def test_pairs_par_type_de_site_sans_cout_pour_le_public(comptes, registre):
    projet = ProjetReference("cour_ecole", 2000.0, cout_par_m2=50.0, exclure_commune=B)
    public = chercher_pairs(protege(comptes, "visiteur"), projet=projet)
    assert public.projet.cout_par_m2 is None and public.pairs["cout_par_m2"].isna().all()
    assert public.pairs["operation_id"].tolist() == [registre["a"]]
    financeur = chercher_pairs(protege(comptes, "financeur"), projet=projet)
    assert financeur.pairs["cout_par_m2"].notna().all() and "€/m²" in financeur.pairs.loc[0, "explication"]
    assert financeur.referents.empty  # le référent de Sète n'a pas de fiche : rien n'est inventé


def test_service_des_pairs_de_l_instance(comptes, tmp_path, monkeypatch):
    """Le service ouvre chaque autre territoire de l'instance (pas le courant), lit ses fiches partagées avec les noms
    de SES communes, et signale un territoire illisible sans s'arrêter."""
    from donnees.instance import TerritoireInstance
    from services.annuaire import lire_pairs_instance

    monkeypatch.delenv("DESIMPER_BASE_URL", raising=False)
    comptes.ecrire_fiche_annuaire(EMAILS["referent_A"], True, {"visible_autres_territoires": True}, "test")
    lez = TerritoireInstance("lez", "Bassin du Lez", tmp_path / "lez")
    autre = Magasin(lez.url)
    try:
        autre.creer_tables()
        autre.creer_utilisateur("a@lez.fr", "Agnès Lez", "referent", ["34116"], None, auteur="test")
        autre.ecrire_fiche_annuaire("a@lez.fr", True, {"visible_autres_territoires": True}, "a@lez.fr")
    finally:
        autre.fermer()
    courant = TerritoireInstance("thau", "Thau", tmp_path / "thau", base_url=comptes.url, defaut=True)
    panne = TerritoireInstance("vide", "Sans base", tmp_path / "vide", base_url="$VARIABLE_ABSENTE_ANNUAIRE")
    lecteur = protege(comptes, "referent_B").utilisateur
    fiches, erreurs = lire_pairs_instance(lecteur, [courant, lez, panne], "thau")
    assert fiches["nom"].tolist() == ["Agnès Lez"]  # pas la fiche du territoire courant
    assert isinstance(fiches.loc[0, "noms_communes"], dict)
    assert len(erreurs) == 1 and erreurs[0].startswith("Sans base : ") and "VARIABLE_ABSENTE_ANNUAIRE" in erreurs[0]
    with pytest.raises(ErreurDroits):
        lire_pairs_instance(VISITEUR, [courant, lez], "thau")


def test_commande_pairs_publique_puis_avec_un_compte(dossier_demo_copie, monkeypatch, capsys):
    """`desimper pairs` : même service, mêmes droits (public sans --utilisateur : aucun nom, aucun coût)."""
    import cli
    from donnees.config import url_base

    monkeypatch.delenv("DESIMPER_BASE_URL", raising=False)
    magasin = Magasin(url_base(dossier_demo_copie))
    try:
        magasin.creer_tables()
        premier = chercher_pairs(MagasinProtege(magasin, VISITEUR), projet=ProjetReference("cour_ecole")).pairs
        code = str(premier.loc[0, "code_insee"])  # commune du premier pair
        magasin.creer_utilisateur("ref@demo.fr", "Rémi Référent", "referent", [code], None, auteur="test")
        magasin.creer_utilisateur("fin@demo.fr", "Fanny Financeuse", "financeur", [], None, auteur="test")
        magasin.ecrire_fiche_annuaire("ref@demo.fr", True, {"fonction": "Technicien"}, "ref@demo.fr")
    finally:
        magasin.fermer()
    arguments = ["pairs", "--type-site", "cour_ecole", "--cout-m2", "150", "--dossier", str(dossier_demo_copie)]
    assert cli.main(arguments) == 0
    public = capsys.readouterr().out
    assert "1. n° " in public and "même type (Cour d'école)" in public
    assert "Rémi" not in public and "€" not in public
    assert cli.main([*arguments, "--utilisateur", "fin@demo.fr"]) == 0
    financeur = capsys.readouterr().out
    assert "€/m²" in financeur
    assert "   référent : Rémi Référent (Technicien)" in financeur  # consentant, lu par un membre connecté
    assert cli.main(["pairs", "--operation", "999999", "--dossier", str(dossier_demo_copie)]) == 2
