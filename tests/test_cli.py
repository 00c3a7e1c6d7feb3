"""Commande `desimper` : vérification du dossier de données, démonstration si absente."""

import io
import shutil
import sys

import pytest

import cli
from donnees.referentiel import chemin_couche


def test_verifier_dossier_absent(tmp_path, capsys, monkeypatch):
    monkeypatch.delenv("DESIMPER_BASE_URL", raising=False)
    code = cli.main(["verifier", "--dossier", str(tmp_path / "absent")])
    sortie = capsys.readouterr().out
    assert code == 1
    assert "n'existe pas" in sortie and "desimper demo" in sortie


def test_verifier_demo_en_ordre(dossier_demo, capsys, monkeypatch):
    monkeypatch.delenv("DESIMPER_BASE_URL", raising=False)
    code = cli.main(["verifier", "--dossier", str(dossier_demo)])
    sortie = capsys.readouterr().out
    assert code == 0, sortie
    assert "Tout est en ordre" in sortie
    assert "25 communes" in sortie


def test_verifier_couche_manquante_et_base_vide(dossier_demo_copie, capsys, monkeypatch):
    monkeypatch.delenv("DESIMPER_BASE_URL", raising=False)
    shutil.rmtree(dossier_demo_copie / "parcelles")  # couche rangée par commune : un dossier
    (dossier_demo_copie / "desimper.sqlite").unlink()
    code = cli.main(["verifier", "--dossier", str(dossier_demo_copie)])
    sortie = capsys.readouterr().out
    assert code == 1
    assert "parcelles" in sortie and "absente" in sortie
    assert "Tables absentes" in sortie
    assert "Traceback" not in sortie


def test_demo_si_absent_ne_regenere_pas(dossier_demo_copie, capsys):
    avant = chemin_couche("parcelles", dossier_demo_copie).stat().st_mtime_ns
    assert cli.main(["demo", "--taille", "petite", "--si-absent", "--dossier", str(dossier_demo_copie)]) == 0
    assert "rien à faire" in capsys.readouterr().out
    assert chemin_couche("parcelles", dossier_demo_copie).stat().st_mtime_ns == avant


def test_demo_si_absent_dit_comment_reinitialiser_les_comptes(dossier_demo_copie, capsys):
    assert cli.main(["demo", "--si-absent", "--dossier", str(dossier_demo_copie)]) == 0
    assert "desimper demo comptes" in capsys.readouterr().out


def test_demo_cree_et_affiche_un_compte_par_role(tmp_path, capsys, monkeypatch):
    from donnees.comptes import authentifier
    from donnees.magasin import Magasin

    monkeypatch.delenv("DESIMPER_BASE_URL", raising=False)
    dossier = tmp_path / "demo"
    assert cli.main(["demo", "--taille", "petite", "--graine", "7", "--sans-modeles", "--dossier", str(dossier)]) == 0
    sortie = capsys.readouterr().out
    lignes = [ligne for ligne in sortie.splitlines() if "mot de passe :" in ligne]
    assert len(lignes) == 3 and "Comptes de démonstration" in sortie and "Sète (34301)" in sortie
    magasin = Magasin(f"sqlite:///{(dossier / 'desimper.sqlite').as_posix()}")
    roles = set()
    for ligne in lignes:
        email, mot_de_passe = ligne.split(" : ", 1)[1].split("  mot de passe : ")
        roles.add(authentifier(magasin, email.strip(), mot_de_passe.strip()).role)
    magasin.fermer()
    assert roles == {"administrateur", "referent", "financeur"}


def test_demo_comptes_reinitialise_et_refuse_un_territoire_reel(dossier_demo_copie, capsys):
    import json

    assert cli.main(["demo", "comptes", "--dossier", str(dossier_demo_copie)]) == 0
    assert capsys.readouterr().out.count("mot de passe :") == 3
    chemin = dossier_demo_copie / "territoire.json"
    chemin.write_text(json.dumps({**json.loads(chemin.read_text(encoding="utf-8")), "demo": False}),
                      encoding="utf-8")
    assert cli.main(["demo", "comptes", "--dossier", str(dossier_demo_copie)]) == 2
    sortie = capsys.readouterr()
    assert "territoire réel" in sortie.err and "mot de passe :" not in sortie.out


def test_indicateurs_json_chaque_indicateur_communal(dossier_demo, capsys, monkeypatch):
    import json

    from indicateurs.catalogue import lire_catalogue

    monkeypatch.delenv("DESIMPER_BASE_URL", raising=False)
    assert cli.main(["indicateurs", "--dossier", str(dossier_demo), "--format", "json"]) == 0
    sortie = json.loads(capsys.readouterr().out)
    catalogue = lire_catalogue()
    communaux = {c for c in catalogue.index if "commune" in catalogue.loc[c, "niveaux"].split(";")}
    assert communaux <= set(sortie["indicateurs"])
    assert len(sortie["territoires"]) == 26
    bassin = next(t for t in sortie["territoires"] if t["territoire"] == "bassin")
    assert bassin["surface_desimpermeabilisee"] > 0 and bassin["t_air_moyenne"] > 25
    assert bassin["delta_t_operations"] <= 0


def test_indicateurs_une_seule_selection_ecrite_dans_la_sortie(dossier_demo, capsys, monkeypatch):
    """Issue 12 : chiffres vectoriels et chiffres sur grille portent sur les mêmes opérations (réalisées et
    validées), et la sortie le dit."""
    import json

    from donnees.config import url_base
    from donnees.magasin import Magasin

    monkeypatch.delenv("DESIMPER_BASE_URL", raising=False)
    assert cli.main(["indicateurs", "--dossier", str(dossier_demo), "--format", "json"]) == 0
    sortie = json.loads(capsys.readouterr().out)
    selection = sortie["selection"]
    assert selection["statuts"] == ["realisee"] and selection["validations"] == ["validee"]
    assert "réalisées" in selection["description"] and "validées" in selection["description"]
    assert "Attention" not in selection["modeles_sur_grille"]
    operations = Magasin(url_base(dossier_demo)).lire_operations()
    retenues = operations["statut"].eq("realisee") & operations["validation"].eq("validee")
    assert (~retenues).any()  # la démo a des opérations hors sélection (programmées, à valider)
    bassin = next(t for t in sortie["territoires"] if t["territoire"] == "bassin")
    assert bassin["nombre_operations"] == retenues.sum()
    # estimation par site et grille sur les mêmes abords : même ordre de grandeur (grille de 20 m des tests)
    assert 0.1 <= bassin["rafraichissement_emprise"] / bassin["rafraichissement_abords"] <= 10
    assert cli.main(["indicateurs", "--dossier", str(dossier_demo), "--format", "csv", "--sans-grille"]) == 0
    assert "Sélection : Périmètre" in capsys.readouterr().err


def test_indicateurs_csv_une_commune(dossier_demo, capsys, monkeypatch):
    monkeypatch.delenv("DESIMPER_BASE_URL", raising=False)
    assert cli.main(["indicateurs", "--dossier", str(dossier_demo), "--format", "csv", "--sans-grille",
                     "--commune", "34301"]) == 0
    lignes = capsys.readouterr().out.splitlines()
    assert lignes[0].startswith("territoire;nom;")
    assert [l.split(";")[0] for l in lignes[1:]] == ["34301", "bassin"]
    assert cli.main(["indicateurs", "--dossier", str(dossier_demo), "--sans-grille", "--commune", "99999"]) == 2


def test_operations_importer_au_nom_d_un_referent(dossier_demo_copie, capsys, monkeypatch, tmp_path):
    import geopandas as gpd
    from shapely.geometry import box

    from donnees.comptes import creer_compte
    from donnees.config import url_base
    from donnees.magasin import Magasin

    monkeypatch.delenv("DESIMPER_BASE_URL", raising=False)
    magasin = Magasin(url_base(dossier_demo_copie))
    creer_compte(magasin, "referent@sete.fr", "Référent Sète", "referent", ["34301"], "une phrase de passe solide",
                 auteur="test")
    avant = len(magasin.lire_operations())
    communes = gpd.read_parquet(dossier_demo_copie / "communes.parquet")
    centre = communes.to_crs(2154).set_index("code_insee").loc["34301", "geometry"].representative_point()
    zone = gpd.GeoSeries([box(centre.x, centre.y, centre.x + 30, centre.y + 20)], crs=2154).to_crs(4326).iloc[0]
    lignes = {"code_insee": ["34301"], "nom": ["Cour de l'école des Tests"], "type_site": ["cour_ecole"],
              "statut": ["realisee"], "date_fin_travaux": ["15/09/2024"], "revetement_avant": ["enrobe"],
              "revetement_apres": ["pelouse"], "cout_ht_eur": [60000]}
    chemin = tmp_path / "operations.geojson"
    gpd.GeoDataFrame(lignes, geometry=[zone], crs=4326).to_file(chemin)
    code = cli.main(["operations", "importer", str(chemin), "--utilisateur", "referent@sete.fr",
                     "--dossier", str(dossier_demo_copie)])
    sortie = capsys.readouterr().out
    assert code == 0, sortie
    assert len(magasin.lire_operations()) == avant + 1
    # Même fichier, commune d'un autre référent : refusé, rien d'écrit.
    lignes["code_insee"] = ["34157"]
    autre = tmp_path / "autre.geojson"
    centre = communes.to_crs(2154).set_index("code_insee").loc["34157", "geometry"].representative_point()
    zone = gpd.GeoSeries([box(centre.x, centre.y, centre.x + 30, centre.y + 20)], crs=2154).to_crs(4326).iloc[0]
    gpd.GeoDataFrame(lignes, geometry=[zone], crs=4326).to_file(autre)
    code = cli.main(["operations", "importer", str(autre), "--utilisateur", "referent@sete.fr",
                     "--dossier", str(dossier_demo_copie)])
    sortie = capsys.readouterr().out
    assert code == 1
    assert "34157" in sortie
    assert len(magasin.lire_operations()) == avant + 1
    magasin.fermer()


def test_indicateurs_sur_un_territoire_reel_aux_seules_communes(dossier_demo, tmp_path, capsys, monkeypatch):
    """Territoire réel dont seules les communes sont importées : indicateurs des opérations, grille vide."""
    import json

    from donnees.magasin import Magasin

    monkeypatch.delenv("DESIMPER_BASE_URL", raising=False)
    for nom in ("communes.parquet", "communes_affichage.parquet"):
        shutil.copy(dossier_demo / nom, tmp_path / nom)
    territoire = json.loads((dossier_demo / "territoire.json").read_text(encoding="utf-8"))
    (tmp_path / "territoire.json").write_text(json.dumps({**territoire, "demo": False}), encoding="utf-8")
    Magasin(f"sqlite:///{tmp_path / 'desimper.sqlite'}").creer_tables()
    assert cli.main(["indicateurs", "--dossier", str(tmp_path), "--format", "json"]) == 0
    lignes = json.loads(capsys.readouterr().out)["territoires"]
    assert len(lignes) == len(territoire["codes_insee"]) + 1
    bassin = next(ligne for ligne in lignes if ligne["territoire"] == "bassin")
    assert bassin["nombre_operations"] == 0 and bassin["t_air_moyenne"] is None


def test_operations_importer_par_un_financeur_refuse_pour_son_role(dossier_demo_copie, capsys, monkeypatch,
                                                                    tmp_path):
    from donnees.comptes import creer_compte
    from donnees.magasin import Magasin

    monkeypatch.delenv("DESIMPER_BASE_URL", raising=False)
    magasin = Magasin(f"sqlite:///{dossier_demo_copie / 'desimper.sqlite'}")
    creer_compte(magasin, "agence@eau.fr", "Agence", "financeur", [], "une phrase de passe solide", auteur="test")
    avant = len(magasin.lire_operations())
    fichier = tmp_path / "ops.csv"
    fichier.write_text("code_insee;nom\n34301;Essai\n", encoding="utf-8")
    code = cli.main(["operations", "importer", str(fichier), "--utilisateur", "agence@eau.fr",
                     "--dossier", str(dossier_demo_copie)])
    erreur = capsys.readouterr().err
    assert code == 1 and "Financeur" in erreur and "commune" not in erreur.split("Financeur")[0]
    assert len(magasin.lire_operations()) == avant
    magasin.fermer()


# ------------------------------------------------------------------ issue 13 : terminal et --dossier


def test_sequences_ansi_des_noms_neutralisees(tmp_path, capsys, monkeypatch):
    """Un nom (ou une adresse) portant des séquences ANSI est affiché en clair (\\x1b), jamais exécuté."""
    from donnees.magasin import Magasin

    monkeypatch.delenv("DESIMPER_BASE_URL", raising=False)
    magasin = Magasin(f"sqlite:///{(tmp_path / 'desimper.sqlite').as_posix()}")
    magasin.creer_tables()
    magasin.creer_utilisateur("a@b.fr", "\x1b[2J\x1b[31mAdmin\x07 rouge\x1b]0;titre\x07", "administrateur", [],
                              None, auteur="test")
    magasin.fermer()
    assert cli.main(["utilisateur", "lister", "--dossier", str(tmp_path)]) == 0
    sortie = capsys.readouterr().out
    assert "\x1b" not in sortie and "\x07" not in sortie
    assert "\\x1b[2J\\x1b[31mAdmin\\x07 rouge" in sortie


def test_erreur_citant_un_texte_hostile_neutralisee(tmp_path, capsys, monkeypatch):
    monkeypatch.delenv("DESIMPER_BASE_URL", raising=False)
    monkeypatch.setattr(sys, "stdin", io.StringIO(""))
    (tmp_path / "territoire.json").write_text("{}", encoding="utf-8")
    code = cli.main(["utilisateur", "creer", "--email", "\x1b[31mx@b.fr", "--nom", "X", "--role", "financeur",
                     "--mot-de-passe", "une phrase de passe solide", "--dossier", str(tmp_path)])
    erreur = capsys.readouterr().err
    assert code == 2 and "\x1b" not in erreur and erreur.startswith("Erreur : ")


@pytest.mark.parametrize("commande", [["utilisateur", "lister"], ["utilisateur", "creer", "--email", "a@b.fr",
                                                                    "--nom", "A", "--role", "financeur"],
                                      ["base", "version"], ["indicateurs"],
                                      ["operations", "exporter", "--format", "csv", "--sortie", "x.csv"]])
def test_dossier_qui_n_est_pas_un_dossier_de_donnees_refuse(tmp_path, capsys, monkeypatch, commande):
    """--dossier vers un dossier système (ici un dossier quelconque) : refus en français, rien n'y est créé."""
    monkeypatch.delenv("DESIMPER_BASE_URL", raising=False)
    systeme = tmp_path / "etc"
    systeme.mkdir()
    (systeme / "passwd").write_text("root:x:0:0", encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    code = cli.main([*commande, "--dossier", str(systeme)])
    erreur = capsys.readouterr().err
    assert code == 2 and "Traceback" not in erreur
    assert f"--dossier « {systeme} » : ce n'est pas un dossier de données de Désimper" in erreur
    assert "desimper demo --dossier" in erreur
    assert sorted(p.name for p in systeme.iterdir()) == ["passwd"]  # aucune base créée
    absent = tmp_path / "absent"
    assert cli.main([*commande, "--dossier", str(absent)]) == 2
    assert "ce dossier n'existe pas" in capsys.readouterr().err and not absent.exists()


def test_commande_creatrice_accepte_un_dossier_neuf(tmp_path, capsys, monkeypatch):
    """`territoire initialiser` crée explicitement un territoire : un dossier neuf lui convient."""
    monkeypatch.delenv("DESIMPER_BASE_URL", raising=False)
    code = cli.main(["territoire", "initialiser", "--nom", "Essai", "--insee", "34301",
                     "--dossier", str(tmp_path / "neuf")])
    assert "n'est pas un dossier de données" not in capsys.readouterr().err
    assert code in (0, 2)
